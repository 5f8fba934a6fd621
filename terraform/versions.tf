terraform {
  required_version = ">= 1.5, < 2.0"

  required_providers {
    google = {
      source  = "hashicorp/google"
      version = "~> 6.0"
    }
  }

  # State lives in a GCS bucket made once by hand (versioned):
  #   terraform init -backend-config=bucket=<state bucket> -backend-config=prefix=<prefix>
  backend "gcs" {}
}
