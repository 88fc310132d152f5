using System.Data.Common;
using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace BRun.Diagnostics.Infrastructure.Alerts;

/// <summary>
/// Sends run alerts to their webhook from the <c>run_alerts</c> outbox, apart from the worker (a slow or failing
/// webhook never holds a task). Each attempt is recorded on the alert (attempts, last error, status); failures are
/// retried with exponential backoff up to <see cref="AlertOptions.MaxAttempts"/>, then recorded as failed.
/// </summary>
public sealed class AlertWebhookSender(
    RunAlertStore store,
    IHttpClientFactory httpClients,
    IOptions<AlertOptions> options,
    TimeProvider timeProvider,
    ILogger<AlertWebhookSender> logger) : BackgroundService
{
    /// <summary>The named HttpClient used for webhooks.</summary>
    public const string HttpClientName = "brun-alert-webhooks";

    private const int BatchSize = 20;

    /// <summary>One pass: sends every due webhook. Returns how many were attempted.</summary>
    public async Task<int> SendDueAsync(CancellationToken ct)
    {
        var settings = options.Value;
        var due = await store.ClaimDueWebhooksAsync(BatchSize, settings.Timeout + settings.Timeout, ct).ConfigureAwait(false);
        foreach (var alert in due)
        {
            await SendAsync(alert, settings, ct).ConfigureAwait(false);
        }

        return due.Count;
    }

    /// <summary>The JSON body for <paramref name="format"/>: ours, or Slack's incoming-webhook shape.</summary>
    public static JsonObject Payload(DueWebhook alert, string format)
    {
        ArgumentNullException.ThrowIfNull(alert);
        var text = $"BRun run {alert.RunId}: {alert.Message}" + (alert.PausedRun ? " The run is paused until someone resumes or cancels it." : string.Empty);
        return format == WebhookFormat.Slack
            ? new JsonObject { ["text"] = text }
            : new JsonObject
            {
                ["type"] = "brun.run_alert",
                ["alert_id"] = alert.Id.ToString("D"),
                ["run_id"] = alert.RunId.ToString("D"),
                ["kind"] = alert.Kind,
                ["pattern"] = alert.Pattern,
                ["message"] = alert.Message,
                ["paused_run"] = alert.PausedRun,
                ["created_at"] = alert.CreatedAt.ToString("O", CultureInfo.InvariantCulture),
                ["text"] = text,
            };
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!options.Value.SenderEnabled)
        {
            return;
        }

        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await SendDueAsync(stoppingToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is DbException or TimeoutException)
            {
                // Database away: the outbox keeps the alerts; the next pass picks them up.
                logger.WebhookPassFailed(ex);
            }

            try
            {
                await Task.Delay(options.Value.PollInterval, timeProvider, stoppingToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    private async Task SendAsync(DueWebhook alert, AlertOptions settings, CancellationToken ct)
    {
        var url = alert.WebhookUrl ?? settings.WebhookUrl;
        if (url is null)
        {
            await store.RecordWebhookAsync(alert.Id, "skipped", null, null, ct).ConfigureAwait(false);
            return;
        }

        var format = alert.WebhookUrl is null ? settings.WebhookFormat : alert.WebhookFormat;
        string error;
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
            timeout.CancelAfter(settings.Timeout);
            using var response = await httpClients.CreateClient(HttpClientName)
                .PostAsJsonAsync(url, Payload(alert, format), timeout.Token).ConfigureAwait(false);
            if (response.IsSuccessStatusCode)
            {
                await store.RecordWebhookAsync(alert.Id, "delivered", null, null, ct).ConfigureAwait(false);
                logger.WebhookDelivered(alert.Id, alert.Kind, alert.RunId, alert.WebhookAttempts);
                return;
            }

            error = $"HTTP {(int)response.StatusCode}";
        }
        catch (HttpRequestException ex)
        {
            error = ex.Message;
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            error = $"no answer within {settings.Timeout.TotalSeconds:0.#} s";
        }

        if (alert.WebhookAttempts >= settings.MaxAttempts)
        {
            await store.RecordWebhookAsync(alert.Id, "failed", error, null, ct).ConfigureAwait(false);
            logger.WebhookGaveUp(alert.Id, alert.WebhookAttempts, error);
            return;
        }

        var backoff = TimeSpan.FromTicks(Math.Min(settings.MaxBackoff.Ticks,
            settings.BaseBackoff.Ticks * (1L << Math.Min(alert.WebhookAttempts - 1, 20))));
        await store.RecordWebhookAsync(alert.Id, "pending", error, backoff, ct).ConfigureAwait(false);
        logger.WebhookRetry(alert.Id, alert.WebhookAttempts, error, backoff);
    }
}
