using System.Text.Json;
using BRun.Diagnostics.Core.Conversations;
using BRun.Diagnostics.Core.Datasets;
using BRun.Diagnostics.Core.Failures;
using BRun.Diagnostics.Core.Validation;
using BRun.Diagnostics.Infrastructure.Database;
using BRun.Diagnostics.Infrastructure.Failures;
using Dapper;

namespace BRun.Diagnostics.Infrastructure.Datasets;

/// <summary>A line (or file) that could not be read as a record; <see cref="Line"/> is 1-based, 0 for a whole file.</summary>
public sealed record ImportError(string Source, long Line, string Message);

/// <summary>The counts of one import. Every record read is in exactly one of imported, rejected and bad lines.</summary>
public sealed record ImportSummary(Guid ImportId, Guid DatasetId, string DatasetName, long Records, long Imported, long Rejected, long BadLines, IReadOnlyList<ImportError> FirstErrors);

/// <summary>
/// Loads existing datasets into the system as a named dataset, owned by one user (row-level security applies to every
/// write). Each record is validated as a generated response would be: a good one becomes a conversation of the
/// dataset, a bad one a failed generation with source <c>import</c> (so nothing cut enters production), and a line
/// that is not a record at all is counted with its line number in <c>dataset_import_errors</c>. Nothing stops the
/// import and nothing is dropped silently. Input is streamed line by line and written in batches, so memory does not
/// grow with the file.
/// </summary>
public sealed class DatasetImporter(IUserScopedConnectionFactory connections, ResponseValidator validator, FailedGenerationStore failures)
{
    /// <summary>Creates the dataset when it does not exist yet (for this owner) and opens an import into it.</summary>
    public async Task<DatasetImportSession> BeginAsync(Guid owner, string datasetName, TrainingFormat format, CancellationToken ct)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(datasetName);
        await using var connection = await connections.OpenAsync(DbIdentity.User(owner), ct).ConfigureAwait(false);
        var datasetId = await connection.ExecuteScalarAsync<Guid>(new CommandDefinition(
            """
            WITH inserted AS (
                INSERT INTO datasets (name, created_by) VALUES (@datasetName, @owner)
                ON CONFLICT (created_by, name) DO NOTHING RETURNING id)
            SELECT id FROM inserted UNION ALL SELECT id FROM datasets WHERE created_by = @owner AND name = @datasetName
            LIMIT 1
            """,
            new { datasetName, owner },
            cancellationToken: ct)).ConfigureAwait(false);
        var importId = Guid.CreateVersion7();
        await connection.ExecuteAsync(new CommandDefinition(
            "INSERT INTO dataset_imports (id, dataset_id, format, created_by) VALUES (@importId, @datasetId, @format, @owner)",
            new { importId, datasetId, format = format.ToWire(), owner },
            cancellationToken: ct)).ConfigureAwait(false);
        return new DatasetImportSession(this, owner, datasetId, datasetName, importId, format);
    }

    /// <summary>
    /// Imports one uploaded file into the dataset <paramref name="datasetName"/>: JSONL (openai, sharegpt, auto) is read
    /// line by line as it arrives, a saved Messages API body or SSE transcript (messages-api) as one record of at most
    /// <paramref name="maxSavedResponseChars"/> characters. The API's upload and the dashboard's both come here.
    /// </summary>
    public async Task<ImportSummary> ImportStreamAsync(
        Guid owner, string datasetName, TrainingFormat format, string fileName, Stream content, CancellationToken ct, int maxSavedResponseChars = 64 * 1024 * 1024)
    {
        ArgumentNullException.ThrowIfNull(fileName);
        ArgumentNullException.ThrowIfNull(content);
        var session = await BeginAsync(owner, datasetName, format, ct).ConfigureAwait(false);
        if (format == TrainingFormat.MessagesApi)
        {
            using var reader = new StreamReader(content, leaveOpen: true);
            var text = new System.Text.StringBuilder();
            var chunk = new char[16 * 1024];
            int read;
            while (text.Length <= maxSavedResponseChars && (read = await reader.ReadAsync(chunk, ct).ConfigureAwait(false)) > 0)
            {
                text.Append(chunk, 0, read);
            }

            if (text.Length > maxSavedResponseChars)
            {
                session.AddUnreadableFile(fileName, $"A saved response may be at most {maxSavedResponseChars:N0} characters.");
            }
            else
            {
                await session.AddSavedResponseAsync(fileName, text.ToString(), ct).ConfigureAwait(false);
            }
        }
        else
        {
            await session.AddJsonLinesAsync(fileName, content, ct).ConfigureAwait(false);
        }

        return await session.CompleteAsync(ct).ConfigureAwait(false);
    }

    /// <summary>A dataset by name as the user sees it (their own first; an admin also finds other members' datasets).</summary>
    public async Task<Guid?> FindDatasetAsync(Guid user, string name, CancellationToken ct)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        await using var connection = await connections.OpenAsync(DbIdentity.User(user), ct).ConfigureAwait(false);
        return await connection.ExecuteScalarAsync<Guid?>(new CommandDefinition(
            "SELECT id FROM datasets WHERE name = @name ORDER BY (created_by = @user) DESC, created_at LIMIT 1",
            new { name, user },
            cancellationToken: ct)).ConfigureAwait(false);
    }

    internal ResponseValidator Validator => validator;

    internal FailedGenerationStore Failures => failures;

    internal IUserScopedConnectionFactory Connections => connections;
}

/// <summary>One import in progress. Add sources, then <see cref="CompleteAsync"/>; records are flushed in batches.</summary>
public sealed class DatasetImportSession
{
    /// <summary>Good records written per transaction.</summary>
    public const int BatchSize = 500;

    private const int ErrorsShown = 20;
    private const string UnknownModel = "unknown";

    private readonly DatasetImporter _importer;
    private readonly Guid _owner;
    private readonly TrainingFormat _format;
    private readonly List<PendingConversation> _pending = new(BatchSize);
    private readonly List<ImportError> _pendingErrors = [];
    private readonly List<ImportError> _firstErrors = [];
    private long _records;
    private long _imported;
    private long _rejected;
    private long _badLines;

    internal DatasetImportSession(DatasetImporter importer, Guid owner, Guid datasetId, string datasetName, Guid importId, TrainingFormat format)
    {
        _importer = importer;
        _owner = owner;
        DatasetId = datasetId;
        DatasetName = datasetName;
        ImportId = importId;
        _format = format;
    }

    public Guid DatasetId { get; }

    public string DatasetName { get; }

    public Guid ImportId { get; }

    /// <summary>Records read so far (good, rejected and bad lines).</summary>
    public long Records => _records;

    private sealed record PendingConversation(Guid Id, string Model, string? StopReason, int? InputTokens, int? OutputTokens, string Turns, string Metadata);

    /// <summary>Reads a JSONL stream (OpenAI chat or ShareGPT) to its end, one line at a time.</summary>
    public async Task AddJsonLinesAsync(string sourceName, Stream stream, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(sourceName);
        ArgumentNullException.ThrowIfNull(stream);
        using var reader = new StreamReader(stream, detectEncodingFromByteOrderMarks: true, leaveOpen: true);
        long lineNumber = 0;
        while (await reader.ReadLineAsync(ct).ConfigureAwait(false) is { } line)
        {
            lineNumber++;
            if (string.IsNullOrWhiteSpace(line))
            {
                continue;
            }

            _records++;
            var read = TrainingLineReader.Read(line, _format);
            if (read.Record is not { } record)
            {
                AddError(new ImportError(sourceName, lineNumber, read.Error!));
            }
            else
            {
                await AddRecordAsync(record, sourceName, lineNumber, line, ct).ConfigureAwait(false);
            }

            if (_pending.Count >= BatchSize || _pendingErrors.Count >= BatchSize)
            {
                await FlushAsync(ct).ConfigureAwait(false);
            }
        }
    }

    /// <summary>One saved Messages API body or SSE transcript, judged exactly as the pipeline judges a response.</summary>
    public async Task AddSavedResponseAsync(string fileName, string content, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(fileName);
        ArgumentNullException.ThrowIfNull(content);
        _records++;
        var saved = SavedResponseReader.Read(fileName, content);
        var result = _importer.Validator.Validate(saved.Parsed, ResponseContext.SavedFile(saved.Streamed));
        var parsed = saved.Parsed;
        if (result.IsOk)
        {
            _pending.Add(new PendingConversation(
                Guid.CreateVersion7(), parsed.Model ?? UnknownModel, parsed.StopReason, parsed.Usage.InputTokens, parsed.Usage.OutputTokens,
                TrainingRecord.WriteTurns(result.Conversation.Turns), MetadataJson(result.Conversation.Metadata)));
            _imported++;
        }
        else
        {
            var failure = result.Failure;
            await RejectAsync(new FailedGenerationInput
            {
                Source = FailureSources.Import,
                DatasetId = DatasetId,
                Prompt = string.Empty,
                Model = parsed.Model ?? UnknownModel,
                MaxTokens = 0,
                RawBody = content,
                ResponseContent = parsed.Text,
                StopReason = parsed.StopReason,
                StopSequence = parsed.StopSequence,
                StopDetailsCategory = parsed.StopDetailsCategory,
                StopDetailsExplanation = parsed.StopDetailsExplanation,
                InputTokens = parsed.Usage.InputTokens,
                OutputTokens = parsed.Usage.OutputTokens,
                RequestId = parsed.BodyRequestId,
                HttpStatus = 0,
                Streamed = saved.Streamed,
                StreamOutcome = FailureWireNames.StreamOutcome(parsed.StreamOutcome),
                FailureType = failure.Type,
                TruncationPattern = failure.Pattern,
                TruncationDetails = failure.Details,
                Confidence = failure.Confidence,
                ErrorMessage = $"Imported from {fileName} into dataset {DatasetName}.",
            }, ct).ConfigureAwait(false);
        }

        if (_pending.Count >= BatchSize)
        {
            await FlushAsync(ct).ConfigureAwait(false);
        }
    }

    /// <summary>A file that could not be read at all (line 0).</summary>
    public void AddUnreadableFile(string fileName, string problem)
    {
        _records++;
        AddError(new ImportError(fileName, 0, problem));
    }

    /// <summary>Writes what is pending and marks the import completed.</summary>
    public async Task<ImportSummary> CompleteAsync(CancellationToken ct)
    {
        await FlushAsync(ct).ConfigureAwait(false);
        await using var connection = await _importer.Connections.OpenAsync(DbIdentity.User(_owner), ct).ConfigureAwait(false);
        await connection.ExecuteAsync(new CommandDefinition(
            "UPDATE dataset_imports SET status = 'completed', finished_at = now() WHERE id = @ImportId",
            new { ImportId },
            cancellationToken: ct)).ConfigureAwait(false);
        return new ImportSummary(ImportId, DatasetId, DatasetName, _records, _imported, _rejected, _badLines, _firstErrors);
    }

    private async Task AddRecordAsync(TrainingRecord record, string sourceName, long lineNumber, string line, CancellationToken ct)
    {
        var contentJson = record.ContentJson();
        var result = _importer.Validator.ValidateContent(contentJson);
        if (result.IsOk)
        {
            _pending.Add(new PendingConversation(Guid.CreateVersion7(), record.Model ?? UnknownModel, null, null, null, record.TurnsJson(), record.MetadataJson()));
            _imported++;
            return;
        }

        var failure = result.Failure;
        await RejectAsync(new FailedGenerationInput
        {
            Source = FailureSources.Import,
            DatasetId = DatasetId,
            Prompt = record.Turns.FirstOrDefault(t => t.Role == ConversationRole.User)?.Content ?? string.Empty,
            Model = record.Model ?? UnknownModel,
            MaxTokens = 0,
            RawBody = line,
            ResponseContent = contentJson,
            HttpStatus = 0,
            Streamed = false,
            FailureType = failure.Type,
            TruncationPattern = failure.Pattern,
            TruncationDetails = failure.Details,
            Confidence = failure.Confidence,
            ErrorMessage = $"Imported from {sourceName} line {lineNumber} into dataset {DatasetName}.",
        }, ct).ConfigureAwait(false);
    }

    private async Task RejectAsync(FailedGenerationInput input, CancellationToken ct)
    {
        await _importer.Failures.StoreAsync(input, _owner, ct).ConfigureAwait(false);
        _rejected++;
    }

    private void AddError(ImportError error)
    {
        _badLines++;
        _pendingErrors.Add(error);
        if (_firstErrors.Count < ErrorsShown)
        {
            _firstErrors.Add(error);
        }
    }

    // Checkpoint: conversations, errors and the counters commit together, so the import row always agrees with
    // what is stored.
    private async Task FlushAsync(CancellationToken ct)
    {
        await using var connection = await _importer.Connections.OpenAsync(DbIdentity.User(_owner), ct).ConfigureAwait(false);
        await using var transaction = await connection.BeginTransactionAsync(ct).ConfigureAwait(false);
        if (_pending.Count > 0)
        {
            await connection.ExecuteAsync(new CommandDefinition(
                """
                INSERT INTO conversations (id, model, stop_reason, input_tokens, output_tokens, turns, metadata, dataset_id, source, created_by)
                SELECT id, model, stop_reason, input_tokens, output_tokens, turns::json, metadata::jsonb, @DatasetId, 'import', @Owner
                FROM unnest(@Ids, @Models, @StopReasons, @InputTokens, @OutputTokens, @Turns, @Metadata)
                    AS t(id, model, stop_reason, input_tokens, output_tokens, turns, metadata)
                """,
                new
                {
                    DatasetId,
                    Owner = _owner,
                    Ids = _pending.Select(p => p.Id).ToArray(),
                    Models = _pending.Select(p => PostgresText.Storable(p.Model)).ToArray(),
                    StopReasons = _pending.Select(p => PostgresText.Storable(p.StopReason)).ToArray(),
                    InputTokens = _pending.Select(p => p.InputTokens).ToArray(),
                    OutputTokens = _pending.Select(p => p.OutputTokens).ToArray(),
                    Turns = _pending.Select(p => p.Turns).ToArray(),
                    Metadata = _pending.Select(p => PostgresText.StorableJsonb(p.Metadata)).ToArray(),
                },
                transaction,
                cancellationToken: ct)).ConfigureAwait(false);
        }

        if (_pendingErrors.Count > 0)
        {
            await connection.ExecuteAsync(new CommandDefinition(
                """
                INSERT INTO dataset_import_errors (import_id, source, line, message, created_by)
                SELECT @ImportId, source, line, message, @Owner FROM unnest(@Sources, @Lines, @Messages) AS e(source, line, message)
                ON CONFLICT DO NOTHING
                """,
                new
                {
                    ImportId,
                    Owner = _owner,
                    Sources = _pendingErrors.Select(e => e.Source).ToArray(),
                    Lines = _pendingErrors.Select(e => e.Line).ToArray(),
                    Messages = _pendingErrors.Select(e => PostgresText.Storable(e.Message)).ToArray(),
                },
                transaction,
                cancellationToken: ct)).ConfigureAwait(false);
        }

        await connection.ExecuteAsync(new CommandDefinition(
            """
            UPDATE dataset_imports
            SET records = @Records, imported = imported + @Imported, rejected = @Rejected, bad_lines = bad_lines + @BadLines
            WHERE id = @ImportId
            """,
            new { ImportId, Records = _records, Imported = (long)_pending.Count, Rejected = _rejected, BadLines = (long)_pendingErrors.Count },
            transaction,
            cancellationToken: ct)).ConfigureAwait(false);
        await transaction.CommitAsync(ct).ConfigureAwait(false);
        _pending.Clear();
        _pendingErrors.Clear();
    }

    private static string MetadataJson(ConversationMetadata metadata) => JsonSerializer.Serialize(new
    {
        persona = metadata.Persona,
        emotional_arc = metadata.EmotionalArc,
        training_topic = metadata.TrainingTopic,
        turn_count = metadata.TurnCount,
    });
}
