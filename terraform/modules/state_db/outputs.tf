output "database_id" {
  description = "Firestore database id the functions use (the code's BACKCOURT_FIRESTORE_DATABASE)."
  value       = google_firestore_database.this.name
}

output "partitions_collection" {
  description = "Name of the partitions collection (one document per processor and date: its state and history; no TTL)."
  value       = local.partitions
}

output "verdicts_collection" {
  description = "Name of the append-only verdicts collection."
  value       = local.verdicts
}
