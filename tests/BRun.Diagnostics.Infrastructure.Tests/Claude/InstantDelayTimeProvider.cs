using System.Collections.Concurrent;

namespace BRun.Diagnostics.Infrastructure.Tests.Claude;

/// <summary>
/// The system clock, except that timers up to <see cref="InstantUpTo"/> (the retry delays) fire at once and are
/// recorded, so retry tests see the delays the client chose without sleeping. Longer timers (the per-attempt
/// timeout) run on real time.
/// </summary>
internal sealed class InstantDelayTimeProvider : TimeProvider
{
    private readonly ConcurrentQueue<TimeSpan> _delays = new();

    public TimeSpan InstantUpTo { get; init; } = TimeSpan.FromMinutes(2);

    public IReadOnlyList<TimeSpan> Delays => [.. _delays];

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        if (dueTime >= TimeSpan.Zero && dueTime <= InstantUpTo && period == Timeout.InfiniteTimeSpan)
        {
            _delays.Enqueue(dueTime);
            dueTime = TimeSpan.Zero;
        }

        return base.CreateTimer(callback, state, dueTime, period);
    }
}
