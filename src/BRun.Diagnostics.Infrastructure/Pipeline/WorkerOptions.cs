using System.ComponentModel.DataAnnotations;

namespace BRun.Diagnostics.Infrastructure.Pipeline;

/// <summary>Options of <see cref="BatchGenerationWorker"/> (configuration section <c>Worker</c>).</summary>
public sealed class WorkerOptions
{
    public const string SectionName = "Worker";

    /// <summary>Run the worker inside this process. Default: true.</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>
    /// Tasks in flight per process. Claude calls spend seconds to minutes waiting on the network, so throughput
    /// comes from many concurrent calls, not from threads. Default: 32.
    /// </summary>
    [Range(1, 1024)]
    public int MaxInFlight { get; set; } = 32;

    /// <summary>How long a claim is valid without a heartbeat. A killed worker's tasks return after this. Default: 30 s.</summary>
    [Range(typeof(TimeSpan), "00:00:02", "01:00:00")]
    public TimeSpan LeaseDuration { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How often the worker renews its leases. Must be well under <see cref="LeaseDuration"/>. Default: 10 s.</summary>
    [Range(typeof(TimeSpan), "00:00:00.500", "00:20:00")]
    public TimeSpan HeartbeatInterval { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Poll interval when no NOTIFY arrives (the fallback for lost notifications or a proxy). Default: 2 s.</summary>
    [Range(typeof(TimeSpan), "00:00:00.050", "00:10:00")]
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>On shutdown, how long in-flight tasks may run before they are released for another worker. Default: 20 s.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:10:00")]
    public TimeSpan ShutdownDeadline { get; set; } = TimeSpan.FromSeconds(20);

    /// <summary>Delivery attempts after which a task that keeps failing to store is given up as failed. Default: 5.</summary>
    [Range(1, 100)]
    public int MaxDeliveryAttempts { get; set; } = 5;

    /// <summary>
    /// Readiness turns unhealthy when the claim loop has not turned for this long (it waits at most one poll interval
    /// between turns, plus a query). Default: 60 s.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:05", "01:00:00")]
    public TimeSpan StuckAfter { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>A name for this worker in leases and logs. Default: machine name + process id + a random suffix.</summary>
    public string? WorkerId { get; set; }
}
