using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace BRun.Diagnostics.Infrastructure.Retention;

/// <summary>
/// Runs retention at start and then every <see cref="RetentionOptions.Interval"/>, in the web host. Several web
/// instances may run it at once: each batch takes its rows with SKIP LOCKED, so they share the work.
/// </summary>
public sealed class RetentionHostedService(
    RetentionService retention,
    IOptions<RetentionOptions> options,
    TimeProvider time,
    ILogger<RetentionHostedService> logger) : BackgroundService
{
    /// <summary>What the runs of this service record as <c>triggered_by</c>.</summary>
    public const string TriggeredBy = "service:brun-web";

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var settings = options.Value;
        if (settings.OlderThanDays == 0)
        {
            logger.RetentionOff();
            return;
        }

        using var timer = new PeriodicTimer(settings.Interval, time);
        do
        {
            try
            {
                await retention.RunAsync(new RetentionRequest(settings.OlderThanDays, DryRun: false, TriggeredBy), stoppingToken).ConfigureAwait(false);
            }
            catch (RetentionFailedException ex)
            {
                // Storage or the database was unreachable; the run's row records how far it got and the next pass
                // deletes the rest. Anything else is a bug and stops the service loudly.
                logger.PassFailed(ex, settings.Interval);
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false));
    }
}
