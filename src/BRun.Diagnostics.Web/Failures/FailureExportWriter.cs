using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using BRun.Diagnostics.Infrastructure.Failures;

namespace BRun.Diagnostics.Web.Failures;

/// <summary>Export formats of <c>GET /api/failed-generations/export</c>.</summary>
public enum FailureExportFormat
{
    Csv,
    Jsonl,

    /// <summary>The RAW reports themselves plus index.csv (<see cref="FailedGenerationReader.WriteReportArchiveAsync"/>).</summary>
    Zip,
}

/// <summary>
/// Writes failures row by row as CSV (RFC 4180 quoting, and cells that a spreadsheet would run as a formula
/// prefixed with <c>'</c>) or as JSON Lines. Each row is flushed as it is written, so nothing is buffered.
/// </summary>
public static class FailureExportWriter
{
    private static readonly string[] Header =
    [
        "id", "created_at", "failure_type", "stop_reason", "truncation_pattern", "truncation_details", "detection_confidence",
        "model", "max_tokens", "input_tokens", "output_tokens", "http_status", "streamed", "run_id", "task_id",
        "error_message", "report_status",
    ];

    public static string ContentType(FailureExportFormat format) => format switch
    {
        FailureExportFormat.Csv => "text/csv; charset=utf-8",
        FailureExportFormat.Jsonl => "application/x-ndjson; charset=utf-8",
        _ => "application/zip",
    };

    public static string FileName(FailureExportFormat format) => format switch
    {
        FailureExportFormat.Csv => "failed-generations.csv",
        FailureExportFormat.Jsonl => "failed-generations.jsonl",
        _ => "failed-generation-reports.zip",
    };

    /// <summary>Writes every row to <paramref name="output"/>; returns the number of rows written.</summary>
    public static async Task<long> WriteAsync(
        IAsyncEnumerable<FailedGenerationSummary> rows, FailureExportFormat format, Stream output, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(rows);
        if (format == FailureExportFormat.Zip)
        {
            throw new ArgumentOutOfRangeException(nameof(format), format, "A ZIP of reports is written by the reader's archive, not row by row.");
        }

        var writer = new StreamWriter(output, new UTF8Encoding(false), bufferSize: 16 * 1024, leaveOpen: true);
        await using (writer.ConfigureAwait(false))
        {
            long count = 0;
            if (format == FailureExportFormat.Csv)
            {
                await writer.WriteAsync(string.Join(',', Header) + "\r\n").ConfigureAwait(false);
            }

            await foreach (var row in rows.WithCancellation(cancellationToken).ConfigureAwait(false))
            {
                await writer.WriteAsync(format == FailureExportFormat.Csv ? CsvLine(row) : JsonLine(row)).ConfigureAwait(false);
                count++;
                // Hand each buffer-full to the response as it fills; flush every 100 rows so a slow export shows progress.
                if (count % 100 == 0)
                {
                    await writer.FlushAsync(cancellationToken).ConfigureAwait(false);
                }
            }

            await writer.FlushAsync(cancellationToken).ConfigureAwait(false);
            return count;
        }
    }

    internal static string CsvLine(FailedGenerationSummary row)
    {
        string?[] cells =
        [
            row.Id.ToString("D"), Utc(row.CreatedAt), row.FailureType, row.StopReason, row.TruncationPattern, row.TruncationDetails,
            row.DetectionConfidence, row.Model, Int(row.MaxTokens), Int(row.InputTokens), Int(row.OutputTokens), Int(row.HttpStatus),
            row.Streamed ? "true" : "false", row.RunId?.ToString("D"), row.TaskId?.ToString("D"), row.ErrorMessage, row.ReportStatus,
        ];
        return CsvText.Line(cells);
    }

    // A file, not HTML: quotes and non-ASCII stay readable instead of \u0022-escaped (JSON stays valid either way).
    private static readonly JsonSerializerOptions JsonLineOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    private static string JsonLine(FailedGenerationSummary row) => JsonSerializer.Serialize(FailureItem.From(row), JsonLineOptions) + "\n";

    private static string Utc(DateTime value) => DateTime.SpecifyKind(value, DateTimeKind.Utc).ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture);

    private static string? Int(int? value) => value?.ToString(CultureInfo.InvariantCulture);
}
