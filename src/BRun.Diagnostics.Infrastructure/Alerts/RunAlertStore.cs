using BRun.Diagnostics.Infrastructure.Database;
using Dapper;

namespace BRun.Diagnostics.Infrastructure.Alerts;

/// <summary>
/// Reads and edits run alert rules and alerts as a user (row-level security: a member sees their own runs'), and
/// serves the webhook outbox to <see cref="AlertWebhookSender"/> as the system. Alerts themselves are raised by
/// triggers (migration 0071) in the transaction that records a failure.
/// </summary>
public sealed class RunAlertStore(IUserScopedConnectionFactory connections)
{
    private const string AlertColumns = """
        a.id AS Id, a.run_id AS RunId, a.kind AS Kind, a.pattern AS Pattern, a.message AS Message, a.paused_run AS PausedRun,
        a.created_at AS CreatedAt, a.dismissed_at AS DismissedAt, a.webhook_status AS WebhookStatus,
        a.webhook_attempts AS WebhookAttempts, a.webhook_last_error AS WebhookLastError, r.status AS RunStatus
        """;

    private const string RuleColumns = """
        min_tasks AS MinTasks, failure_rate_above AS FailureRateAbove, pause_on_failure_rate AS PauseOnFailureRate,
        api_error_share_above AS ApiErrorShareAbove, pause_on_api_error_share AS PauseOnApiErrorShare,
        new_pattern AS NewPattern, pause_on_new_pattern AS PauseOnNewPattern, webhook_url AS WebhookUrl,
        webhook_format AS WebhookFormat
        """;

    /// <summary>The run's rules, or null when the run is not visible.</summary>
    public async Task<RunAlertRules?> GetRulesAsync(DbIdentity identity, Guid runId, CancellationToken ct)
    {
        await using var connection = await connections.OpenAsync(identity, ct).ConfigureAwait(false);
        return await connection.QuerySingleOrDefaultAsync<RunAlertRules>(new CommandDefinition(
            $"SELECT {RuleColumns} FROM run_alert_rules WHERE run_id = @runId", new { runId }, cancellationToken: ct)).ConfigureAwait(false);
    }

    /// <summary>Replaces the run's rules. False when the run is not visible or not the user's to edit.</summary>
    public async Task<bool> UpdateRulesAsync(DbIdentity identity, Guid runId, RunAlertRules rules, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(rules);
        if (rules.Problem() is { } problem)
        {
            throw new ArgumentException(problem, nameof(rules));
        }

        await using var connection = await connections.OpenAsync(identity, ct).ConfigureAwait(false);
        return await connection.ExecuteAsync(new CommandDefinition("""
            UPDATE run_alert_rules
            SET min_tasks = @MinTasks, failure_rate_above = @FailureRateAbove, pause_on_failure_rate = @PauseOnFailureRate,
                api_error_share_above = @ApiErrorShareAbove, pause_on_api_error_share = @PauseOnApiErrorShare,
                new_pattern = @NewPattern, pause_on_new_pattern = @PauseOnNewPattern, webhook_url = @WebhookUrl,
                webhook_format = @WebhookFormat, updated_at = now()
            WHERE run_id = @runId
            """,
            new
            {
                runId, rules.MinTasks, rules.FailureRateAbove, rules.PauseOnFailureRate, rules.ApiErrorShareAbove,
                rules.PauseOnApiErrorShare, rules.NewPattern, rules.PauseOnNewPattern, rules.WebhookUrl, rules.WebhookFormat,
            },
            cancellationToken: ct)).ConfigureAwait(false) == 1;
    }

    /// <summary>Every alert of a run, newest first (the run's alert history).</summary>
    public async Task<IReadOnlyList<RunAlert>> ListForRunAsync(DbIdentity identity, Guid runId, CancellationToken ct)
    {
        await using var connection = await connections.OpenAsync(identity, ct).ConfigureAwait(false);
        var rows = await connection.QueryAsync<RunAlert>(new CommandDefinition($"""
            SELECT {AlertColumns} FROM run_alerts a JOIN generation_runs r ON r.id = a.run_id
            WHERE a.run_id = @runId ORDER BY a.created_at DESC, a.id
            """, new { runId }, cancellationToken: ct)).ConfigureAwait(false);
        return rows.AsList();
    }

    /// <summary>Alerts not dismissed yet, newest first: the dashboard banner.</summary>
    public async Task<IReadOnlyList<RunAlert>> ListActiveAsync(DbIdentity identity, int limit, CancellationToken ct)
    {
        await using var connection = await connections.OpenAsync(identity, ct).ConfigureAwait(false);
        var rows = await connection.QueryAsync<RunAlert>(new CommandDefinition($"""
            SELECT {AlertColumns} FROM run_alerts a JOIN generation_runs r ON r.id = a.run_id
            WHERE a.dismissed_at IS NULL ORDER BY a.created_at DESC, a.id LIMIT @limit
            """, new { limit }, cancellationToken: ct)).ConfigureAwait(false);
        return rows.AsList();
    }

    /// <summary>Hides an alert from the banner (it stays in the run's history). False when not visible.</summary>
    public async Task<bool> DismissAsync(DbIdentity identity, Guid alertId, CancellationToken ct)
    {
        await using var connection = await connections.OpenAsync(identity, ct).ConfigureAwait(false);
        return await connection.ExecuteAsync(new CommandDefinition(
            "UPDATE run_alerts SET dismissed_at = now() WHERE id = @alertId AND dismissed_at IS NULL",
            new { alertId }, cancellationToken: ct)).ConfigureAwait(false) == 1;
    }

    /// <summary>
    /// Claims alerts whose webhook is due (SKIP LOCKED, so senders in several processes share the work): the attempt
    /// is counted and the next try pushed out by <paramref name="lease"/> before the call, so a sender that dies
    /// mid-call leaves the alert to be retried, not lost.
    /// </summary>
    internal async Task<IReadOnlyList<DueWebhook>> ClaimDueWebhooksAsync(int limit, TimeSpan lease, CancellationToken ct)
    {
        await using var connection = await connections.OpenAsync(DbIdentity.System, ct).ConfigureAwait(false);
        var rows = await connection.QueryAsync<DueWebhook>(new CommandDefinition("""
            WITH due AS (
                SELECT id FROM run_alerts
                WHERE webhook_status = 'pending' AND webhook_next_attempt_at <= now()
                ORDER BY webhook_next_attempt_at
                LIMIT @limit
                FOR UPDATE SKIP LOCKED
            )
            UPDATE run_alerts a
            SET webhook_attempts = a.webhook_attempts + 1, webhook_next_attempt_at = now() + @lease
            FROM due, run_alert_rules r
            WHERE a.id = due.id AND r.run_id = a.run_id
            RETURNING a.id AS Id, a.run_id AS RunId, a.kind AS Kind, a.pattern AS Pattern, a.message AS Message,
                      a.paused_run AS PausedRun, a.created_at AS CreatedAt, a.webhook_attempts AS WebhookAttempts,
                      r.webhook_url AS WebhookUrl, r.webhook_format AS WebhookFormat
            """, new { limit, lease }, cancellationToken: ct)).ConfigureAwait(false);
        return rows.AsList();
    }

    /// <summary>Records a webhook outcome: delivered, skipped (no URL), failed for good, or pending again after <paramref name="retryAfter"/>.</summary>
    internal async Task RecordWebhookAsync(Guid alertId, string status, string? error, TimeSpan? retryAfter, CancellationToken ct)
    {
        await using var connection = await connections.OpenAsync(DbIdentity.System, ct).ConfigureAwait(false);
        await connection.ExecuteAsync(new CommandDefinition("""
            UPDATE run_alerts
            SET webhook_status = @status, webhook_last_error = @error,
                webhook_delivered_at = CASE WHEN @status = 'delivered' THEN now() END,
                webhook_next_attempt_at = COALESCE(now() + make_interval(secs => @retrySeconds), webhook_next_attempt_at)
            WHERE id = @alertId
            """, new { alertId, status, error, retrySeconds = retryAfter?.TotalSeconds }, cancellationToken: ct)).ConfigureAwait(false);
    }
}
