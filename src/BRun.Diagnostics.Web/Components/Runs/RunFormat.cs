using System.Globalization;

namespace BRun.Diagnostics.Web.Components.Runs;

/// <summary>Display formats shared by the runs pages.</summary>
internal static class RunFormat
{
    public static string Usd(decimal value) => value.ToString("$0.0000", CultureInfo.InvariantCulture);

    public static string Time(DateTimeOffset value) => value.UtcDateTime.ToString("yyyy-MM-dd HH:mm 'UTC'", CultureInfo.InvariantCulture);

    public static string Throughput(double? tasksPerMinute) =>
        tasksPerMinute is { } r ? r.ToString("0.#", CultureInfo.InvariantCulture) + " /min" : "–";

    public static string Eta(TimeSpan? eta) => eta switch
    {
        null => "–",
        { TotalSeconds: < 60 } e => $"{Math.Ceiling(e.TotalSeconds).ToString(CultureInfo.InvariantCulture)} s",
        { TotalHours: < 1 } e => $"{e.Minutes.ToString(CultureInfo.InvariantCulture)} min {e.Seconds.ToString(CultureInfo.InvariantCulture)} s",
        { } e => $"{((int)e.TotalHours).ToString(CultureInfo.InvariantCulture)} h {e.Minutes.ToString(CultureInfo.InvariantCulture)} min",
    };
}
