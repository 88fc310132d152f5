using BRun.Diagnostics.Core.Validation;

namespace BRun.Diagnostics.Core.Failures;

/// <summary>
/// Everything the failure store records about one failed generation. Built from a captured call with
/// <see cref="FailedGenerationInputFactory.FromCapture"/>; the owning user is given to the store separately.
/// The error report is a pure function of this record, its id and its creation time, so it can be rebuilt
/// from the stored row byte for byte.
/// </summary>
public sealed record FailedGenerationInput
{
    // Provenance
    /// <summary>Where the failure was found: <see cref="FailureSources"/>. Pipeline failures are <c>generation</c>.</summary>
    public string Source { get; init; } = FailureSources.Generation;

    /// <summary>The dataset an imported or scanned conversation belongs to.</summary>
    public Guid? DatasetId { get; init; }

    /// <summary>For a quarantined conversation, its original <c>conversations.id</c>.</summary>
    public Guid? ConversationId { get; init; }
    public Guid? RunId { get; init; }

    /// <summary>The pipeline task; the store keeps at most one row per task.</summary>
    public Guid? TaskId { get; init; }

    public ScaffoldingIds Scaffolding { get; init; } = ScaffoldingIds.None;

    // Request
    public required string Prompt { get; init; }
    public required string Model { get; init; }
    public required int MaxTokens { get; init; }
    public decimal? Temperature { get; init; }
    public bool StructuredOutputsEnabled { get; init; }

    // Response
    /// <summary>The exact body (or SSE transcript) as received; empty when none arrived.</summary>
    public required string RawBody { get; init; }

    /// <summary>The text the model produced, as far as it could be extracted.</summary>
    public string? ResponseContent { get; init; }

    /// <summary>The stop_reason verbatim, unknown values included; null when none arrived.</summary>
    public string? StopReason { get; init; }
    public string? StopSequence { get; init; }
    public string? StopDetailsCategory { get; init; }
    public string? StopDetailsExplanation { get; init; }
    public int? InputTokens { get; init; }
    public int? OutputTokens { get; init; }
    public int? CacheCreationInputTokens { get; init; }
    public int? CacheReadInputTokens { get; init; }

    // Transport
    public string? RequestId { get; init; }

    /// <summary>HTTP status of the final attempt; 0 when no response arrived.</summary>
    public required int HttpStatus { get; init; }
    public long? DurationMs { get; init; }
    public required bool Streamed { get; init; }

    /// <summary>Wire name of the stream's ending (<see cref="FailureWireNames.StreamOutcome"/>); null when not streamed.</summary>
    public string? StreamOutcome { get; init; }

    /// <summary>Wire name of the transport failure (<see cref="FailureWireNames.Transport"/>); null when a response arrived.</summary>
    public string? TransportFailure { get; init; }
    public int Attempts { get; init; } = 1;
    public IReadOnlyDictionary<string, string> RateLimitHeaders { get; init; } = new Dictionary<string, string>();

    // Finding
    public required FailureType FailureType { get; init; }
    public string? TruncationPattern { get; init; }
    public string? TruncationDetails { get; init; }
    public required Confidence Confidence { get; init; }
    public string? ErrorMessage { get; init; }
    public string? ErrorStack { get; init; }

    /// <summary>Set when the response came from a Message Batches result line rather than an online call.</summary>
    public BatchProvenance? Batch { get; init; }

    /// <summary>What every Claude call of the task cost in USD (retried calls included); null when the model has no price.</summary>
    public decimal? CostUsd { get; init; }

    /// <summary>The answer came from the built-in simulator, not Claude.</summary>
    public bool Simulated { get; init; }

    /// <summary>Every Claude call the task made, oldest first: the attempt history of a retried task.</summary>
    public IReadOnlyList<ApiAttempt> ApiAttempts { get; init; } = [];

    /// <summary>Length of the prompt in UTF-16 code units, as the plan's <c>prompt.length</c>.</summary>
    public int PromptLength => Prompt.Length;
}

/// <summary>
/// Where a batch result came from: Anthropic's batch id, the request's custom_id, and the result type the batch
/// gave it (<c>succeeded</c> for a result we still rejected, e.g. a max_tokens cut; <c>errored</c> for an API error).
/// </summary>
public sealed record BatchProvenance(string BatchId, string CustomId, string ResultType);

/// <summary>The scaffolding a conversation was generated from.</summary>
public sealed record ScaffoldingIds(Guid? PersonaId, Guid? EmotionalArcId, Guid? TrainingTopicId, Guid? TemplateId)
{
    public static readonly ScaffoldingIds None = new(null, null, null, null);

    public bool IsEmpty => this == None;
}

/// <summary>Where a failed generation came from in the pipeline.</summary>
public sealed record FailureContext
{
    public Guid? ConversationId { get; init; }
    public Guid? RunId { get; init; }
    public Guid? TaskId { get; init; }
    public ScaffoldingIds Scaffolding { get; init; } = ScaffoldingIds.None;
}

/// <summary>One Claude call of a task, as listed in its failure report.</summary>
/// <param name="Attempt">The task's delivery that made the call (1 for the first).</param>
/// <param name="At">When the call was recorded, UTC, ISO 8601 with milliseconds.</param>
/// <param name="HttpStatus">0 when no response arrived.</param>
/// <param name="RequestId">The <c>request-id</c> header, when a response arrived.</param>
/// <param name="Disposition"><c>response</c>, <c>transient</c> or <c>permanent</c>.</param>
/// <param name="Reason">Why the call was classified so.</param>
/// <param name="CostUsd">The call's cost; null when the model has no price.</param>
public sealed record ApiAttempt(int Attempt, string At, int HttpStatus, string? RequestId, string Disposition, string? Reason, decimal? CostUsd);

/// <summary>The values of <c>failed_generations.source</c>.</summary>
public static class FailureSources
{
    /// <summary>A Claude call of the pipeline whose response failed validation.</summary>
    public const string Generation = "generation";

    /// <summary>A record of an imported dataset that failed validation on the way in.</summary>
    public const string Import = "import";

    /// <summary>A stored conversation that a quarantine scan found bad and moved out of production.</summary>
    public const string Scan = "scan";
}
