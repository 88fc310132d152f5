namespace BRun.Diagnostics.Core.RateLimits;

/// <summary>
/// A token bucket refilled continuously, as the Messages API's limits are: it holds at most <see cref="Limit"/>
/// tokens and refills <see cref="Limit"/> per <see cref="Window"/>. It is kept as a single instant, the time at which
/// it will be full again (<see cref="FullAt"/>; the generic cell rate algorithm), so taking, refunding and the
/// <c>anthropic-ratelimit-*-reset</c> header are one addition each, and the shared pacer's SQL
/// (<c>brun_rate_limit_take</c>, migration 0045) does the same arithmetic on the same representation.
/// </summary>
public sealed class TokenBucket
{
    /// <param name="limit">Tokens per window, also the capacity. Must be above 0.</param>
    /// <param name="window">The refill period: a minute for the real API.</param>
    /// <param name="now">The bucket starts full at this instant.</param>
    public TokenBucket(double limit, TimeSpan window, DateTimeOffset now)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(limit);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(window, TimeSpan.Zero);
        Limit = limit;
        Window = window;
        FullAt = now;
    }

    /// <summary>Capacity, and tokens refilled per <see cref="Window"/>.</summary>
    public double Limit { get; }

    public TimeSpan Window { get; }

    /// <summary>When the bucket will be full again if nothing more is taken. In the past means full now.</summary>
    public DateTimeOffset FullAt { get; private set; }

    /// <summary>Tokens refilled per second.</summary>
    public double RatePerSecond => Limit / Window.TotalSeconds;

    /// <summary>Tokens available at <paramref name="now"/>, between 0 and <see cref="Limit"/>.</summary>
    public double Level(DateTimeOffset now) => Math.Max(0, Limit - (Math.Max(0, (FullAt - now).TotalSeconds) * RatePerSecond));

    /// <summary>
    /// How long until <paramref name="cost"/> tokens fit; zero when they fit now. A cost above the capacity is
    /// treated as the whole capacity, so it waits for a full bucket instead of forever.
    /// </summary>
    public TimeSpan WaitFor(double cost, DateTimeOffset now)
    {
        var after = Max(FullAt, now) + Refill(Clamp(cost));
        var wait = after - Window - now;
        return wait > TimeSpan.Zero ? wait : TimeSpan.Zero;
    }

    /// <summary>Takes <paramref name="cost"/> tokens if they fit now; otherwise leaves the bucket alone.</summary>
    public bool TryTake(double cost, DateTimeOffset now)
    {
        if (WaitFor(cost, now) > TimeSpan.Zero)
        {
            return false;
        }

        FullAt = Max(FullAt, now) + Refill(Clamp(cost));
        return true;
    }

    /// <summary>
    /// Corrects an earlier take by <paramref name="tokens"/>: negative gives tokens back (a reservation larger than
    /// what was used), positive takes more even past empty (usage larger than reserved).
    /// </summary>
    public void Adjust(double tokens, DateTimeOffset now)
    {
        FullAt = tokens >= 0 ? Max(FullAt, now) + Refill(tokens) : FullAt - Refill(-tokens);
    }

    /// <summary>The time in which the bucket refills <paramref name="tokens"/>.</summary>
    public TimeSpan Refill(double tokens) => TimeSpan.FromTicks((long)Math.Round(tokens * Window.Ticks / Limit));

    private double Clamp(double cost) => Math.Min(Math.Max(cost, 0), Limit);

    private static DateTimeOffset Max(DateTimeOffset a, DateTimeOffset b) => a > b ? a : b;
}
