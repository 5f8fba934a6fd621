# Alerts that tell an operator something needs a look, all sent to one e-mail channel:
#   - dead letters: messages waiting in a dead-letter subscription (work that failed every retry);
#   - failed workflow executions (backfill or daily);
#   - records that need a person: the ERROR entries functions/main.py writes itself (logger
#     backcourt.functions: a malformed work message or a terminal error, recorded in the status
#     store and acknowledged). NOT the request logs' 5xx: a planned transient error (a nack while
#     inputs are in flight, a BigQuery concurrency abort) answers 5xx so Pub/Sub redelivers, and
#     those must not page anyone; what they fail to fix ends as a dead letter or a FAILED
#     execution, both alerted above;
# and a monthly budget on the project's spend.

data "google_project" "this" {
  project_id = var.project_id
}

locals {
  quoted_subscriptions = join(", ", [for s in var.dead_letter_subscriptions : "\"${s}\""])
  quoted_workflows     = join(", ", [for w in var.workflow_names : "\"${w}\""])
  function_filter      = join(" OR ", [for f in var.function_services : "resource.labels.service_name=\"${f}\""])

  # The JSON entries backcourt.logs writes (severity, message, logger): only the functions' own
  # logger, so request logs (httpRequest.status, no jsonPayload.logger) never match.
  needs_a_person_filter = "resource.type=\"cloud_run_revision\" AND severity>=ERROR AND jsonPayload.logger=\"${var.alert_logger}\" AND (${local.function_filter})"
}

resource "google_monitoring_notification_channel" "email" {
  project      = var.project_id
  display_name = "${var.prefix} operators"
  type         = "email"

  labels = {
    email_address = var.notification_email
  }
}

resource "google_monitoring_alert_policy" "dead_letters" {
  project      = var.project_id
  display_name = "${var.prefix}: dead letters waiting"
  combiner     = "OR"
  severity     = "ERROR"

  conditions {
    display_name = "undelivered messages in a dead-letter subscription"

    condition_threshold {
      filter          = "resource.type = \"pubsub_subscription\" AND metric.type = \"pubsub.googleapis.com/subscription/num_undelivered_messages\" AND resource.label.subscription_id = one_of(${local.quoted_subscriptions})"
      comparison      = "COMPARISON_GT"
      threshold_value = 0
      duration        = "0s"

      aggregations {
        alignment_period   = "300s"
        per_series_aligner = "ALIGN_MAX"
      }
    }
  }

  documentation {
    mime_type = "text/markdown"
    content   = "Work messages failed every delivery attempt and were dead-lettered. Inspect them with `gcloud pubsub subscriptions pull SUBSCRIPTION --limit=10` and `backcourt status`; fix the cause, then re-run the dates (the workflow replans whatever is not done)."
  }

  alert_strategy {
    auto_close = "86400s"
  }

  notification_channels = [google_monitoring_notification_channel.email.id]
}

resource "google_monitoring_alert_policy" "failed_executions" {
  project      = var.project_id
  display_name = "${var.prefix}: workflow execution failed"
  combiner     = "OR"
  severity     = "ERROR"

  conditions {
    display_name = "finished executions with status FAILED"

    condition_threshold {
      filter          = "resource.type = \"workflows.googleapis.com/Workflow\" AND metric.type = \"workflows.googleapis.com/finished_execution_count\" AND metric.label.status = \"FAILED\" AND resource.label.workflow_id = one_of(${local.quoted_workflows})"
      comparison      = "COMPARISON_GT"
      threshold_value = 0
      duration        = "0s"

      aggregations {
        alignment_period   = "300s"
        per_series_aligner = "ALIGN_SUM"
      }
    }
  }

  documentation {
    mime_type = "text/markdown"
    content   = "A backfill or daily workflow execution failed. `gcloud workflows executions list WORKFLOW --location=REGION` shows it and its error; `backcourt status` shows which dates are not done."
  }

  alert_strategy {
    auto_close = "86400s"
  }

  notification_channels = [google_monitoring_notification_channel.email.id]
}

resource "google_logging_metric" "function_errors" {
  project     = var.project_id
  name        = "${var.prefix}-function-errors"
  description = "ERROR (or worse) entries the pipeline functions log themselves when a person is needed (malformed message, terminal error), by function; never request logs."
  filter      = local.needs_a_person_filter

  metric_descriptor {
    metric_kind = "DELTA"
    value_type  = "INT64"
    unit        = "1"

    labels {
      key         = "service_name"
      value_type  = "STRING"
      description = "Function (Cloud Run service) that logged the error."
    }
  }

  label_extractors = {
    service_name = "EXTRACT(resource.labels.service_name)"
  }
}

resource "google_monitoring_alert_policy" "function_errors" {
  project      = var.project_id
  display_name = "${var.prefix}: a function recorded a failure that needs a person"
  combiner     = "OR"
  severity     = "WARNING"

  conditions {
    display_name = "ERROR entries of the backcourt.functions logger"

    condition_threshold {
      filter          = "resource.type = \"cloud_run_revision\" AND metric.type = \"logging.googleapis.com/user/${google_logging_metric.function_errors.name}\""
      comparison      = "COMPARISON_GT"
      threshold_value = 0
      duration        = "0s"

      aggregations {
        alignment_period   = "600s"
        per_series_aligner = "ALIGN_SUM"
      }
    }
  }

  documentation {
    mime_type = "text/markdown"
    content   = "A function recorded a failure that retrying will not fix: a malformed work message or a terminal error (recorded as a failed run with its payload; the message was acknowledged). Read the entry (jsonPayload.run_id, jsonPayload.message) in Cloud Logging and the run with `backcourt status`. Transient errors (5xx answers that Pub/Sub redelivers) do not alert: they end as a dead letter or a failed execution if they persist."
  }

  alert_strategy {
    auto_close = "86400s"
  }

  notification_channels = [google_monitoring_notification_channel.email.id]
}

resource "google_billing_budget" "monthly" {
  billing_account = var.billing_account
  display_name    = "${var.prefix} monthly budget"

  budget_filter {
    projects        = ["projects/${data.google_project.this.number}"]
    calendar_period = "MONTH"
  }

  amount {
    specified_amount {
      currency_code = var.budget_currency
      units         = tostring(var.budget_amount)
    }
  }

  threshold_rules {
    threshold_percent = 0.5
  }

  threshold_rules {
    threshold_percent = 0.9
  }

  threshold_rules {
    threshold_percent = 1.0
  }

  threshold_rules {
    threshold_percent = 1.0
    spend_basis       = "FORECASTED_SPEND"
  }

  all_updates_rule {
    monitoring_notification_channels = [google_monitoring_notification_channel.email.id]
  }
}
