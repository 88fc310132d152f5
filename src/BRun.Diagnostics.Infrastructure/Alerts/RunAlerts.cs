namespace BRun.Diagnostics.Infrastructure.Alerts;

/// <summary>Kinds of run alert (<c>run_alerts.kind</c>).</summary>
public static class RunAlertKind
{
    public const string FailureRate = "failure_rate";
    public const string ApiErrorShare = "api_error_share";
    public const string NewPattern = "new_pattern";
}

/// <summary>Webhook payload shapes (<c>run_alert_rules.webhook_format</c>).</summary>
public static class WebhookFormat
{
    /// <summary>Our JSON object (type, alert_id, run_id, kind, pattern, message, paused_run, created_at).</summary>
    public const string Generic = "generic";

    /// <summary>Slack incoming-webhook compatible: <c>{"text": "..."}</c>.</summary>
    public const string Slack = "slack";

    public static bool IsKnown(string? format) => format is Generic or Slack;
}

/// <summary>One alert of a run: its history entry, banner line and webhook outbox row. Times are UTC.</summary>
public sealed record RunAlert(
    Guid Id,
    Guid RunId,
    string Kind,
    string? Pattern,
    string Message,
    bool PausedRun,
    DateTime CreatedAt,
    DateTime? DismissedAt,
    string WebhookStatus,
    int WebhookAttempts,
    string? WebhookLastError,
    string RunStatus);

/// <summary>
/// The alert rules of one run. A null threshold turns that rule off. Defaults (migration 0071): failure rate above
/// 50% after 20 tasks pauses the run; api_error share above 30% and a truncation pattern never seen before alert only.
/// </summary>
public sealed record RunAlertRules
{
    /// <summary>Tasks done (succeeded + failed) before the rate rules apply. Default 20.</summary>
    public int MinTasks { get; init; } = 20;

    /// <summary>Failure rate (0..1) above which the rule fires. Default 0.5.</summary>
    public decimal? FailureRateAbove { get; init; } = 0.5m;
    public bool PauseOnFailureRate { get; init; } = true;

    /// <summary>Share of done tasks that ended as api_error (0..1) above which the rule fires. Default 0.3.</summary>
    public decimal? ApiErrorShareAbove { get; init; } = 0.3m;
    public bool PauseOnApiErrorShare { get; init; }

    /// <summary>Alert on a truncation pattern the owner has never had in another run. Default on.</summary>
    public bool NewPattern { get; init; } = true;
    public bool PauseOnNewPattern { get; init; }

    /// <summary>http(s) URL; null uses <c>Alerts:WebhookUrl</c>.</summary>
    public string? WebhookUrl { get; init; }
    public string WebhookFormat { get; init; } = Alerts.WebhookFormat.Generic;

    /// <summary>Why these rules cannot be stored, or null.</summary>
    public string? Problem() =>
        MinTasks < 1 ? "min_tasks must be at least 1"
        : FailureRateAbove is < 0 or > 1 ? "failure_rate_above must be between 0 and 1"
        : ApiErrorShareAbove is < 0 or > 1 ? "api_error_share_above must be between 0 and 1"
        // Uri accepts a control character (a NUL too, which Postgres cannot store) and escapes it; a URL holds none.
        : WebhookUrl is not null && (WebhookUrl.Any(char.IsControl) || !(Uri.TryCreate(WebhookUrl, UriKind.Absolute, out var uri) && uri.Scheme is "http" or "https"))
            ? "webhook_url must be an absolute http or https URL"
        : !Alerts.WebhookFormat.IsKnown(WebhookFormat) ? "webhook_format must be generic or slack"
        : null;
}

/// <summary>An alert whose webhook is due, claimed by one sender.</summary>
public sealed record DueWebhook(
    Guid Id, Guid RunId, string Kind, string? Pattern, string Message, bool PausedRun, DateTime CreatedAt,
    int WebhookAttempts, string? WebhookUrl, string WebhookFormat);
