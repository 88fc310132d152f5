using System.Globalization;
using BRun.Diagnostics.Infrastructure.RateLimits;
using BRun.Diagnostics.Web.Runs;

namespace BRun.Diagnostics.Web.Components.Runs;

/// <summary>Display formats shared by the runs pages.</summary>
internal static class RunFormat
{
    public static string Usd(decimal value) => value.ToString("$0.0000", CultureInfo.InvariantCulture);

    public static string Time(DateTimeOffset value) => value.UtcDateTime.ToString("yyyy-MM-dd HH:mm 'UTC'", CultureInfo.InvariantCulture);

    /// <summary>"4,304": thousands separators, the same on every page whatever the server's culture.</summary>
    public static string Number(long value) => value.ToString("N0", CultureInfo.InvariantCulture);

    /// <summary>"100 ok · 32 failed · 168 cancelled · 0 pending of 300": every task counted once (pending includes in flight).</summary>
    public static string Counts(RunView run)
    {
        ArgumentNullException.ThrowIfNull(run);
        return $"{Number(run.Succeeded)} ok · {Number(run.Failed)} failed · {Number(run.Cancelled)} cancelled · {Number(run.Remaining)} pending of {Number(run.Total)}";
    }

    public static string Throughput(double? tasksPerMinute) =>
        tasksPerMinute is { } r ? r.ToString("0.#", CultureInfo.InvariantCulture) + " /min" : "–";

    /// <summary>"$1.2345": four decimals, because a single call of a small model costs fractions of a cent.</summary>
    public static string Cost(decimal? usd) => usd is { } v ? "$" + v.ToString("0.0000", CultureInfo.InvariantCulture) : "–";

    public static string Eta(TimeSpan? eta) => eta switch
    {
        null => "–",
        { TotalSeconds: < 60 } e => $"{Math.Ceiling(e.TotalSeconds).ToString(CultureInfo.InvariantCulture)} s",
        { TotalHours: < 1 } e => $"{e.Minutes.ToString(CultureInfo.InvariantCulture)} min {e.Seconds.ToString(CultureInfo.InvariantCulture)} s",
        { } e => $"{((int)e.TotalHours).ToString(CultureInfo.InvariantCulture)} h {e.Minutes.ToString(CultureInfo.InvariantCulture)} min",
    };

    /// <summary>"Waiting on the organisation's rate limit ... until 14:03:05 UTC": why the pending tasks are not sent yet.</summary>
    public static string RateLimitWait(RateLimitWait wait)
    {
        ArgumentNullException.ThrowIfNull(wait);
        var until = DateTime.SpecifyKind(wait.Until, DateTimeKind.Utc).ToString("HH:mm:ss 'UTC'", CultureInfo.InvariantCulture);
        return wait.Reason == "rate_limited"
            ? $"Waiting on the rate limit: Claude answered 429, so every worker pauses until {until}."
            : $"Waiting on the rate limit: the organisation's per-minute limits are used up; the next call fits at {until}.";
    }
}
