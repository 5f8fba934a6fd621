output "bucket" {
  description = "Bucket holding the source zips."
  value       = google_storage_bucket.this.name
}

output "object" {
  description = "Content-addressed object name of the current zip (functions-<sha256>.zip)."
  value       = google_storage_bucket_object.zip.name
  depends_on  = [google_storage_bucket_iam_member.readers]
}
