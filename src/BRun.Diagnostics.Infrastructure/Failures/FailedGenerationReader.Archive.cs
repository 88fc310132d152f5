using System.Data;
using System.Diagnostics;
using System.Globalization;
using System.IO.Compression;
using System.Text;
using BRun.Diagnostics.Infrastructure.Database;
using Dapper;

namespace BRun.Diagnostics.Infrastructure.Failures;

/// <summary>What <see cref="FailedGenerationReader.WriteReportArchiveAsync"/> wrote.</summary>
/// <param name="Reports">Report entries (one per matching failure).</param>
/// <param name="Rebuilt">Of those, how many were rebuilt from the row (not in blob storage yet, or missing).</param>
public sealed record FailureArchiveResult(long Reports, long Rebuilt);

/// <summary>The bulk RAW archive: every report matching a filter, and an index, in one streamed ZIP.</summary>
public sealed partial class FailedGenerationReader
{
    /// <summary>The index entry's name.</summary>
    public const string ArchiveIndexName = "index.csv";

    /// <summary><c>index.csv</c>'s <c>report_source</c> for a report read from blob storage.</summary>
    public const string ArchiveSourceStorage = "storage";

    /// <summary><c>index.csv</c>'s <c>report_source</c> for a report rebuilt from its row (upload pending, or blob missing).</summary>
    public const string ArchiveSourceRebuilt = "rebuilt";

    /// <summary><c>index.csv</c>'s <c>report_source</c> for a failure deleted while the archive was written (no entry).</summary>
    public const string ArchiveSourceGone = "deleted";

    private static readonly string[] ArchiveIndexHeader =
    [
        "id", "run_id", "created_at", "failure_type", "stop_reason", "truncation_pattern", "request_id", "output_tokens",
        "file", "report_source", "report_status",
    ];

    /// <summary>
    /// Writes a ZIP to <paramref name="output"/> (which need not seek): one <c>failed-generation-{id}.json</c> per failure
    /// matching <paramref name="filter"/> that the identity may see, with the same bytes as
    /// <see cref="DownloadReportAsync"/>, then <see cref="ArchiveIndexName"/>. Newest first, as the list.
    /// </summary>
    /// <remarks>
    /// Memory stays flat: rows come unbuffered from the database, each blob is copied into its entry as it is read,
    /// and the index is written last from a second pass over the same snapshot (one REPEATABLE READ transaction), so
    /// it lists exactly the entries; only the ids of rebuilt reports are kept between the passes. What does grow is
    /// ZipArchive's central directory, a few hundred bytes per entry, which a ZIP must write at its end.
    /// A blob that fails halfway through its body (after the SDK's retries) aborts the archive: an entry cannot be taken back.
    /// </remarks>
    public async Task<FailureArchiveResult> WriteReportArchiveAsync(
        DbIdentity identity, FailedGenerationFilter filter, Stream output, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(identity);
        ArgumentNullException.ThrowIfNull(filter);
        ArgumentNullException.ThrowIfNull(output);
        await using var connection = await _connections.OpenAsync(identity, cancellationToken).ConfigureAwait(false);
        await using var snapshot = await connection.BeginTransactionAsync(IsolationLevel.RepeatableRead, cancellationToken).ConfigureAwait(false);
        filter = await ResolveTextSearchAsync(connection, snapshot, filter, cancellationToken).ConfigureAwait(false);
        var (where, parameters) = BuildWhere(filter);
        var sql = $"SELECT {FailedGenerationSummary.Columns} FROM failed_generations {where} ORDER BY {OrderBy(FailedGenerationSort.NewestFirst)}";
        var started = Stopwatch.GetTimestamp();
        // Only the exceptions are remembered between the passes; "storage" is the rule.
        var exceptions = new Dictionary<Guid, ArchiveEntrySource>();
        long reports = 0;
        var sink = new AsyncDrainingWriteStream(output);
        var archive = await ZipArchive.CreateAsync(sink, ZipArchiveMode.Create, leaveOpen: true, entryNameEncoding: null, cancellationToken).ConfigureAwait(false);
        await using (archive.ConfigureAwait(false))
        {
            var rows = connection.QueryUnbufferedAsync<FailedGenerationSummary>(sql, parameters, snapshot);
            await foreach (var row in rows.WithCancellation(cancellationToken).ConfigureAwait(false))
            {
                var source = await WriteReportEntryAsync(archive, identity, row, cancellationToken).ConfigureAwait(false);
                if (source == ArchiveEntrySource.Storage)
                {
                    reports++;
                }
                else
                {
                    exceptions[row.Id] = source;
                    reports += source == ArchiveEntrySource.Rebuilt ? 1 : 0;
                }

                await sink.DrainAsync(cancellationToken).ConfigureAwait(false);
            }

            var index = archive.CreateEntry(ArchiveIndexName, CompressionLevel.Fastest);
            var indexStream = await index.OpenAsync(cancellationToken).ConfigureAwait(false);
            await using (indexStream.ConfigureAwait(false))
            {
                var writer = new StreamWriter(indexStream, new UTF8Encoding(false), bufferSize: 16 * 1024);
                await using (writer.ConfigureAwait(false))
                {
                    await writer.WriteAsync(CsvText.Line(ArchiveIndexHeader)).ConfigureAwait(false);
                    rows = connection.QueryUnbufferedAsync<FailedGenerationSummary>(sql, parameters, snapshot);
                    await foreach (var row in rows.WithCancellation(cancellationToken).ConfigureAwait(false))
                    {
                        await writer.WriteAsync(ArchiveIndexLine(row, exceptions.GetValueOrDefault(row.Id, ArchiveEntrySource.Storage))).ConfigureAwait(false);
                    }
                }
            }
        }

        // The central directory, written when the archive was disposed.
        await sink.DrainAsync(cancellationToken).ConfigureAwait(false);
        await snapshot.CommitAsync(cancellationToken).ConfigureAwait(false);
        var rebuiltCount = exceptions.Values.LongCount(s => s == ArchiveEntrySource.Rebuilt);
        _logger.ArchiveWritten(identity.ToString(), reports, rebuiltCount, (long)Stopwatch.GetElapsedTime(started).TotalMilliseconds);
        return new FailureArchiveResult(reports, rebuiltCount);
    }

    /// <summary>Name of a report in the archive and of the single download: <c>failed-generation-{id}.json</c>.</summary>
    public static string ReportFileName(Guid id) => $"failed-generation-{id:D}.json";

    /// <summary>Writes one report entry and says where its bytes came from.</summary>
    private async Task<ArchiveEntrySource> WriteReportEntryAsync(
        ZipArchive archive, DbIdentity identity, FailedGenerationSummary row, CancellationToken cancellationToken)
    {
        var (stored, reason) = await OpenStoredReportAsync(row.ReportStatus, row.RawFilePath, cancellationToken).ConfigureAwait(false);
        byte[]? rebuilt = null;
        if (stored is null)
        {
            // Read on a connection of its own: the snapshot's connection is busy streaming the rows. Reports are
            // deterministic, so the current row rebuilds the same bytes; only a deleted row (retention) is gone.
            if (await GetAsync(identity, row.Id, cancellationToken).ConfigureAwait(false) is not { } full)
            {
                _logger.ArchiveReportGone(row.Id);
                return ArchiveEntrySource.Gone;
            }

            _logger.ReportRebuiltForArchive(row.Id, reason!);
            rebuilt = RebuildReport(full);
        }

        var entry = archive.CreateEntry(ReportFileName(row.Id), CompressionLevel.Fastest);
        entry.LastWriteTime = new DateTimeOffset(DateTime.SpecifyKind(row.CreatedAt, DateTimeKind.Utc));
        var target = await entry.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using (target.ConfigureAwait(false))
        {
            if (stored is null)
            {
                await target.WriteAsync(rebuilt, cancellationToken).ConfigureAwait(false);
                return ArchiveEntrySource.Rebuilt;
            }

            await using (stored.ConfigureAwait(false))
            {
                await stored.CopyToAsync(target, cancellationToken).ConfigureAwait(false);
            }

            return ArchiveEntrySource.Storage;
        }
    }

    private static string ArchiveIndexLine(FailedGenerationSummary row, ArchiveEntrySource source) => CsvText.Line(
    [
        row.Id.ToString("D"),
        row.RunId?.ToString("D"),
        DateTime.SpecifyKind(row.CreatedAt, DateTimeKind.Utc).ToString("yyyy-MM-dd'T'HH:mm:ss.ffffff'Z'", CultureInfo.InvariantCulture),
        row.FailureType,
        row.StopReason,
        row.TruncationPattern,
        row.RequestId,
        row.OutputTokens?.ToString(CultureInfo.InvariantCulture),
        source == ArchiveEntrySource.Gone ? null : ReportFileName(row.Id),
        source switch
        {
            ArchiveEntrySource.Storage => ArchiveSourceStorage,
            ArchiveEntrySource.Rebuilt => ArchiveSourceRebuilt,
            _ => ArchiveSourceGone,
        },
        row.ReportStatus,
    ]);
}

/// <summary>Where an archive entry's bytes came from.</summary>
internal enum ArchiveEntrySource
{
    Storage,
    Rebuilt,

    /// <summary>The row was deleted after the snapshot was taken: listed in the index, no entry.</summary>
    Gone,
}
