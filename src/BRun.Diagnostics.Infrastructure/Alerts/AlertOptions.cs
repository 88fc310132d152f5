using System.ComponentModel.DataAnnotations;

namespace BRun.Diagnostics.Infrastructure.Alerts;

/// <summary>Run alerts: the default webhook and how webhooks are sent and retried. Section <c>Alerts</c>.</summary>
public sealed class AlertOptions
{
    public const string SectionName = "Alerts";

    /// <summary>Webhook for runs whose rules name none. Default: none (alerts go to the dashboard and the run's history only).</summary>
    [Url]
    public string? WebhookUrl { get; set; }

    /// <summary><c>generic</c> or <c>slack</c>, for <see cref="WebhookUrl"/>. Default: generic.</summary>
    [RegularExpression("^(generic|slack)$")]
    public string WebhookFormat { get; set; } = Alerts.WebhookFormat.Generic;

    /// <summary>Run the background webhook sender. Default: true.</summary>
    public bool SenderEnabled { get; set; } = true;

    /// <summary>How often the sender looks for due webhooks. Default: 2 seconds.</summary>
    [Range(typeof(TimeSpan), "00:00:00.050", "00:10:00")]
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>Attempts (the first included) before a webhook is recorded as failed. Default: 5.</summary>
    [Range(1, 20)]
    public int MaxAttempts { get; set; } = 5;

    /// <summary>Wait after the first failed attempt; doubles per attempt up to <see cref="MaxBackoff"/>. Default: 10 seconds.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "01:00:00")]
    public TimeSpan BaseBackoff { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Longest wait between attempts. Default: 10 minutes.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "1.00:00:00")]
    public TimeSpan MaxBackoff { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>Per-call timeout; also how long a claimed webhook is hidden from other senders. Default: 10 seconds.</summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "00:05:00")]
    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(10);
}
