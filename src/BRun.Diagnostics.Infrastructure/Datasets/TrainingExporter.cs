using System.Data;
using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Serialization;
using BRun.Diagnostics.Core.Conversations;
using BRun.Diagnostics.Core.Datasets;
using BRun.Diagnostics.Core.Validation;
using BRun.Diagnostics.Infrastructure.Database;
using Npgsql;

namespace BRun.Diagnostics.Infrastructure.Datasets;

/// <summary>Which conversations a training export takes. Null members do not filter.</summary>
public sealed record TrainingExportFilter(Guid? DatasetId = null, Guid? RunId = null, DateTimeOffset? Since = null, string? Model = null, bool IncludeSimulated = false);

/// <summary>A conversation that was not written, and why.</summary>
public sealed record LeftOutConversation(
    [property: JsonPropertyName("id")] Guid Id,
    [property: JsonPropertyName("failure_type")] string FailureType,
    [property: JsonPropertyName("pattern")] string Pattern,
    [property: JsonPropertyName("reason")] string Reason);

/// <summary>The manifest written beside an export: what was asked, what was written, what was left out and why.</summary>
public sealed record TrainingExportManifest(
    [property: JsonPropertyName("format")] string Format,
    [property: JsonPropertyName("created_at")] DateTimeOffset CreatedAt,
    [property: JsonPropertyName("user_id")] Guid UserId,
    [property: JsonPropertyName("filters")] TrainingExportManifestFilters Filters,
    [property: JsonPropertyName("validator_version")] string ValidatorVersion,
    [property: JsonPropertyName("considered")] long Considered,
    [property: JsonPropertyName("written")] long Written,
    [property: JsonPropertyName("left_out_count")] long LeftOutCount,
    [property: JsonPropertyName("bytes")] long Bytes,
    [property: JsonPropertyName("sha256")] string Sha256,
    [property: JsonPropertyName("left_out")] IReadOnlyList<LeftOutConversation> LeftOut)
{
    public static readonly JsonSerializerOptions JsonOptions = new()
    {
        WriteIndented = true,
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };
}

public sealed record TrainingExportManifestFilters(
    [property: JsonPropertyName("dataset_id")] Guid? DatasetId,
    [property: JsonPropertyName("run_id")] Guid? RunId,
    [property: JsonPropertyName("since")] DateTimeOffset? Since,
    [property: JsonPropertyName("model")] string? Model,
    [property: JsonPropertyName("include_simulated")] bool IncludeSimulated,
    [property: JsonPropertyName("simulated_filter_applied")] bool SimulatedFilterApplied);

/// <summary>
/// Writes stored conversations as training JSONL (OpenAI chat or ShareGPT). Every row is re-validated with the
/// current validator as it is read: a row that fails is not written and is listed in the manifest with its reason,
/// so nothing failed can leave, even a row stored before a rule existed. Rows stream from the database reader to the
/// output one at a time; the SHA-256 is computed over exactly the bytes written. It runs as the user, so row-level
/// security decides what can be exported (a member exports only their own data).
/// </summary>
public sealed class TrainingExporter(IUserScopedConnectionFactory connections, ResponseValidator validator, TimeProvider time)
{
    public async Task<TrainingExportManifest> ExportAsync(Guid user, TrainingFormat format, TrainingExportFilter filter, Stream output, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(filter);
        ArgumentNullException.ThrowIfNull(output);
        if (format is not (TrainingFormat.OpenAi or TrainingFormat.ShareGpt))
        {
            throw new ArgumentOutOfRangeException(nameof(format), format, "Export writes openai or sharegpt.");
        }

        var createdAt = time.GetUtcNow();
        await using var connection = await connections.OpenAsync(DbIdentity.User(user), ct).ConfigureAwait(false);
        var simulatedFilter = !filter.IncludeSimulated && await HasSimulatedColumnAsync(connection, ct).ConfigureAwait(false);
        await using var command = new NpgsqlCommand(
            $"""
            SELECT id, turns::text, metadata::text FROM conversations
            WHERE (@dataset::uuid IS NULL OR dataset_id = @dataset)
              AND (@run::uuid IS NULL OR run_id = @run)
              AND (@since::timestamptz IS NULL OR created_at >= @since)
              AND (@model::text IS NULL OR model = @model)
              {(simulatedFilter ? SimulatedFilter : string.Empty)}
            ORDER BY created_at, id
            """,
            connection);
        command.Parameters.AddWithValue("dataset", (object?)filter.DatasetId ?? DBNull.Value);
        command.Parameters.AddWithValue("run", (object?)filter.RunId ?? DBNull.Value);
        command.Parameters.AddWithValue("since", (object?)filter.Since?.UtcDateTime ?? DBNull.Value);
        command.Parameters.AddWithValue("model", (object?)filter.Model ?? DBNull.Value);

        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        using var line = new MemoryStream();
        var leftOut = new List<LeftOutConversation>();
        long considered = 0, written = 0, bytes = 0;
        await using (var reader = await command.ExecuteReaderAsync(CommandBehavior.SequentialAccess, ct).ConfigureAwait(false))
        {
            while (await reader.ReadAsync(ct).ConfigureAwait(false))
            {
                considered++;
                var id = reader.GetGuid(0);
                var turns = reader.GetString(1);
                var metadata = reader.GetString(2);
                var result = validator.ValidateContent(StoredConversation.ContentJson(metadata, turns));
                if (!result.IsOk)
                {
                    leftOut.Add(new LeftOutConversation(id, result.Failure.Type.ToWire(), result.Failure.Pattern, result.Failure.Details));
                    continue;
                }

                line.SetLength(0);
                TrainingRecordWriter.Write(line, format, SystemPrompt(metadata), result.Conversation.Turns);
                line.WriteByte((byte)'\n');
                var segment = new ReadOnlyMemory<byte>(line.GetBuffer(), 0, (int)line.Length);
                hash.AppendData(segment.Span);
                await output.WriteAsync(segment, ct).ConfigureAwait(false);
                bytes += segment.Length;
                written++;
            }
        }

        await output.FlushAsync(ct).ConfigureAwait(false);
        return new TrainingExportManifest(
            format.ToWire(),
            createdAt,
            user,
            new TrainingExportManifestFilters(filter.DatasetId, filter.RunId, filter.Since, filter.Model, filter.IncludeSimulated, simulatedFilter),
            ResponseValidator.Version,
            considered,
            written,
            leftOut.Count,
            bytes,
            Convert.ToHexStringLower(hash.GetHashAndReset()),
            leftOut);
    }

    // Simulator-made rows stay out unless asked for. The column comes with the real-API work (migration 0040); until it
    // exists there is nothing to filter, and once it does this clause switches on by itself.
    private const string SimulatedFilter = "AND NOT simulated";

    private static async Task<bool> HasSimulatedColumnAsync(NpgsqlConnection connection, CancellationToken ct)
    {
        await using var check = new NpgsqlCommand(
            "SELECT EXISTS (SELECT 1 FROM information_schema.columns WHERE table_name = 'conversations' AND column_name = 'simulated')",
            connection);
        return (bool)(await check.ExecuteScalarAsync(ct).ConfigureAwait(false))!;
    }

    /// <summary>The system prompt an imported conversation came with (kept in its metadata), if any.</summary>
    private static string? SystemPrompt(string metadata)
    {
        if (!metadata.Contains("\"system\"", StringComparison.Ordinal))
        {
            return null;
        }

        using var document = JsonDocument.Parse(metadata);
        return document.RootElement.TryGetProperty("system", out var system) && system.ValueKind == JsonValueKind.String ? system.GetString() : null;
    }
}
