using System.Globalization;

namespace BRun.Diagnostics.Core.Text;

/// <summary>Counts with their noun in the right number: "1 file", "2 files", "1,024 events".</summary>
public static class Plural
{
    public static string Of(long count, string singular, string? plural = null) =>
        string.Create(CultureInfo.InvariantCulture, $"{count:N0} {(count == 1 ? singular : plural ?? singular + "s")}");
}
