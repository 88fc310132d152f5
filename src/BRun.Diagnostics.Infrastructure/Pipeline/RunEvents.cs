using System.Data.Common;
using System.Text.Json;
using System.Text.Json.Serialization;
using BRun.Diagnostics.Core.Pipeline;
using Dapper;

namespace BRun.Diagnostics.Infrastructure.Pipeline;

/// <summary>
/// A small live-update event published with <c>pg_notify</c> on <see cref="GenerationQueue.EventsChannel"/>:
/// ids and counts only (NOTIFY payloads are capped at 8,000 bytes), so a dashboard in another process can follow.
/// </summary>
public sealed record RunEvent(
    [property: JsonPropertyName("kind")] string Kind,
    [property: JsonPropertyName("run_id")] Guid RunId,
    [property: JsonPropertyName("task_id")] Guid? TaskId = null,
    [property: JsonPropertyName("failure_id")] Guid? FailureId = null,
    [property: JsonPropertyName("status")] string? Status = null,
    [property: JsonPropertyName("total")] int? Total = null,
    [property: JsonPropertyName("succeeded")] int? Succeeded = null,
    [property: JsonPropertyName("failed")] int? Failed = null,
    [property: JsonPropertyName("cancelled")] int? Cancelled = null,
    [property: JsonPropertyName("scan_id")] Guid? ScanId = null)
{
    public const string TaskSucceeded = "task_succeeded";
    public const string TaskFailed = "task_failed";

    /// <summary>A quarantine scan committed a batch (published in that batch's transaction).</summary>
    public const string ScanProgressed = "scan_progress";

    /// <summary>A quarantine scan completed.</summary>
    public const string ScanCompleted = "scan_completed";

    /// <summary>
    /// A scan's event, whichever process runs it (<c>brun scan</c> or the dashboard), so an open Datasets page follows
    /// it live. It concerns no run: <see cref="RunId"/> is empty.
    /// </summary>
    public static RunEvent ForScan(string kind, Guid scanId) => new(kind, Guid.Empty, ScanId: scanId);

    public static RunEvent RunCreated(Guid runId, int total) => new("run_created", runId, Status: RunStatus.Running, Total: total, Succeeded: 0, Failed: 0, Cancelled: 0);

    public static RunEvent FromSnapshot(string kind, RunSnapshot run)
    {
        ArgumentNullException.ThrowIfNull(run);
        return new(kind, run.Id, Status: run.Status, Total: run.Total, Succeeded: run.Succeeded, Failed: run.Failed, Cancelled: run.Cancelled);
    }

    public static RunEvent FromCounters(string kind, Guid taskId, Guid? failureId, RunCounters counters)
    {
        ArgumentNullException.ThrowIfNull(counters);
        return new(kind, counters.RunId, taskId, failureId, counters.Status, counters.Total, counters.Succeeded, counters.Failed, counters.Cancelled);
    }
}

/// <summary>Publishes and decodes <see cref="RunEvent"/>s.</summary>
public static class RunEvents
{
    private static readonly JsonSerializerOptions Options = new() { DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull };

    public static string Serialize(RunEvent runEvent) => JsonSerializer.Serialize(runEvent, Options);

    public static RunEvent? TryDeserialize(string payload)
    {
        try
        {
            return JsonSerializer.Deserialize<RunEvent>(payload, Options);
        }
        catch (JsonException)
        {
            // A payload from another version or a hand-typed NOTIFY: not ours to act on.
            return null;
        }
    }

    /// <summary>Publishes inside the caller's transaction: listeners see the event only if the change commits.</summary>
    public static Task PublishAsync(DbConnection connection, DbTransaction? transaction, RunEvent runEvent, CancellationToken ct) =>
        connection.ExecuteAsync(new CommandDefinition(
            "SELECT pg_notify(@channel, @payload)",
            new { channel = GenerationQueue.EventsChannel, payload = Serialize(runEvent) },
            transaction, cancellationToken: ct));
}
