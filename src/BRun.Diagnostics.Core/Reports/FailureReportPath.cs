using System.Globalization;

namespace BRun.Diagnostics.Core.Reports;

/// <summary>Where a failure's report lives in blob storage: <c>{yyyy}/{MM}/failed-{id}-{timestamp}.json</c>.</summary>
public static class FailureReportPath
{
    public static string For(Guid failureId, DateTimeOffset createdAt)
    {
        var utc = createdAt.ToUniversalTime();
        // Colons and dots are swapped for dashes so the name is safe in any file system once downloaded.
        var stamp = utc.ToString("yyyy-MM-dd'T'HH-mm-ss-fff'Z'", CultureInfo.InvariantCulture);
        return string.Create(
            CultureInfo.InvariantCulture,
            $"{utc:yyyy}/{utc:MM}/failed-{failureId:D}-{stamp}.json");
    }

    /// <summary>The file name part, for a download's Content-Disposition.</summary>
    public static string FileName(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        return path[(path.LastIndexOf('/') + 1)..];
    }
}
