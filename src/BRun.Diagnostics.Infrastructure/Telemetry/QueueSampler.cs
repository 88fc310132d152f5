using BRun.Diagnostics.Infrastructure.Database;
using Dapper;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Npgsql;

namespace BRun.Diagnostics.Infrastructure.Telemetry;

/// <summary>Telemetry settings (configuration section <c>Telemetry</c>).</summary>
public sealed class TelemetryOptions
{
    public const string SectionName = "Telemetry";

    /// <summary>How often queue depth, the oldest available task's age and pending reports are sampled. Default: 15 s.</summary>
    [System.ComponentModel.DataAnnotations.Range(typeof(TimeSpan), "00:00:01", "01:00:00")]
    public TimeSpan SampleInterval { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>Expose <c>/metrics</c> for Prometheus scraping (on the web port, or the worker's probe port). Default: false.</summary>
    public bool PrometheusEnabled { get; set; }

    /// <summary>
    /// Put prompts and response texts on Claude spans (<c>gen_ai.input.messages</c> / <c>gen_ai.output.messages</c>).
    /// Default: false: they are training data and can be large; traces often go to a shared collector.
    /// </summary>
    public bool RecordContent { get; set; }
}

/// <summary>Refreshes the sampled gauges of <see cref="DiagnosticsMetrics"/> with one small query per interval.</summary>
public sealed partial class QueueSampler(
    IUserScopedConnectionFactory connections,
    DiagnosticsMetrics metrics,
    IOptions<TelemetryOptions> options,
    TimeProvider timeProvider,
    ILogger<QueueSampler> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(options.Value.SampleInterval, timeProvider);
        do
        {
            try
            {
                await SampleAsync(stoppingToken).ConfigureAwait(false);
            }
            catch (NpgsqlException ex)
            {
                // The gauges keep their last values; readiness reports the outage.
                Log.SampleFailed(logger, ex);
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false));
    }

    public async Task SampleAsync(CancellationToken ct)
    {
        // The partial index on available tasks keeps both aggregates cheap however long the history is.
        const string Sql = """
            SELECT (SELECT count(*) FROM generation_tasks WHERE state = 'available') AS Depth,
                   (SELECT COALESCE(EXTRACT(EPOCH FROM now() - min(created_at)), 0) FROM generation_tasks WHERE state = 'available') AS OldestAge,
                   (SELECT count(*) FROM failed_generations WHERE report_status = 'pending') AS Pending
            """;
        await using var connection = await connections.OpenAsync(DbIdentity.System, ct).ConfigureAwait(false);
        var row = await connection.QuerySingleAsync<(long Depth, double OldestAge, long Pending)>(new CommandDefinition(Sql, cancellationToken: ct)).ConfigureAwait(false);
        metrics.SetQueue(row.Depth, row.OldestAge, row.Pending);
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 7410, Level = LogLevel.Warning, Message = "Could not sample the queue for metrics")]
        public static partial void SampleFailed(ILogger logger, Exception exception);
    }
}
