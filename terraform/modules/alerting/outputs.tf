output "alert_policy_ids" {
  description = "Alert policies, keyed by what they watch."
  value = {
    dead_letters      = google_monitoring_alert_policy.dead_letters.id
    failed_executions = google_monitoring_alert_policy.failed_executions.id
    function_errors   = google_monitoring_alert_policy.function_errors.id
  }
}

output "budget_id" {
  description = "Id of the monthly budget (billingAccounts/…/budgets/…)."
  value       = google_billing_budget.monthly.id
}

output "notification_channel_id" {
  description = "Id of the e-mail notification channel."
  value       = google_monitoring_notification_channel.email.id
}
