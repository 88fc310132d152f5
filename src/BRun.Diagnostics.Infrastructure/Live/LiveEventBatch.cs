using BRun.Diagnostics.Infrastructure.Pipeline;

namespace BRun.Diagnostics.Infrastructure.Live;

/// <summary>
/// Run events collected over one batch window, in arrival order. Events carry ids and counts only: a subscriber
/// re-queries what it shows under its own user, so row-level security applies to live data too.
/// </summary>
public sealed class LiveEventBatch
{
    /// <summary>The kind <see cref="RunEvent.RunCreated"/> publishes.</summary>
    public const string RunCreatedKind = "run_created";

    public LiveEventBatch(IReadOnlyList<RunEvent> events, bool resync = false)
    {
        ArgumentNullException.ThrowIfNull(events);
        Events = events;
        Resync = resync;
        RunIds = events.Select(e => e.RunId).ToHashSet();
    }

    public IReadOnlyList<RunEvent> Events { get; }

    /// <summary>The distinct runs the events are about.</summary>
    public IReadOnlySet<Guid> RunIds { get; }

    /// <summary>
    /// True when events may have been missed (the listener reconnected after losing its connection):
    /// subscribers should reload everything they show, not only <see cref="RunIds"/>.
    /// </summary>
    public bool Resync { get; }

    /// <summary>True when the batch is about <paramref name="runId"/> or asks for a full reload.</summary>
    public bool Concerns(Guid runId) => Resync || RunIds.Contains(runId);

    /// <summary>True when any event announces a new run.</summary>
    public bool HasNewRuns => Events.Any(e => e.Kind == RunCreatedKind);
}
