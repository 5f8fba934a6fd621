output "name" {
  description = "Bucket name (BACKCOURT_GCP__BUCKET)."
  value       = google_storage_bucket.this.name
  depends_on  = [google_storage_bucket_iam_member.access]
}

output "url" {
  description = "gs:// URL of the bucket."
  value       = google_storage_bucket.this.url
}
