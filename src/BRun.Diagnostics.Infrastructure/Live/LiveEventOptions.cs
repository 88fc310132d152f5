using System.ComponentModel.DataAnnotations;

namespace BRun.Diagnostics.Infrastructure.Live;

/// <summary>Options of <see cref="LiveEventHub"/> and <see cref="RunEventListener"/> (configuration section <c>Live</c>).</summary>
public sealed class LiveEventOptions
{
    public const string SectionName = "Live";

    /// <summary>
    /// The shortest time between two deliveries: an event after a quiet period is delivered at once, and what
    /// follows within this window is collected and delivered as one batch when it ends, so a burst of hundreds of
    /// task events per second costs each dashboard one re-query and one render per window. Default: 250 ms.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00.010", "00:00:10")]
    public TimeSpan BatchWindow { get; set; } = TimeSpan.FromMilliseconds(250);

    /// <summary>Listen for run events in this process (the dashboard). Default: true.</summary>
    public bool ListenerEnabled { get; set; } = true;

    /// <summary>First wait before reconnecting after the LISTEN connection is lost; doubles up to <see cref="MaxReconnectDelay"/>. Default: 500 ms.</summary>
    [Range(typeof(TimeSpan), "00:00:00.010", "00:01:00")]
    public TimeSpan InitialReconnectDelay { get; set; } = TimeSpan.FromMilliseconds(500);

    /// <summary>Longest wait between reconnection attempts. Default: 30 s.</summary>
    [Range(typeof(TimeSpan), "00:00:00.010", "00:10:00")]
    public TimeSpan MaxReconnectDelay { get; set; } = TimeSpan.FromSeconds(30);
}
