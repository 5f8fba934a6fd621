# Alerts on dead letters, failed workflow executions and function errors, and the monthly budget.

module "alerting" {
  source = "./modules/alerting"

  project_id                = var.project_id
  prefix                    = var.prefix
  notification_email        = var.alert_email
  billing_account           = var.billing_account
  budget_amount             = var.budget_amount
  dead_letter_subscriptions = [module.work_topic.dead_letter_subscription]
  workflow_names            = [module.backfill_workflow.name, module.daily_workflow.name]
  function_services         = [for k in keys(local.functions) : replace(k, "_", "-")]

  depends_on = [google_project_service.apis]
}
