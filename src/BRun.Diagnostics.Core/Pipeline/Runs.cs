using BRun.Diagnostics.Core.Design;

namespace BRun.Diagnostics.Core.Pipeline;

/// <summary>Run states as stored (<c>generation_runs.status</c>).</summary>
public static class RunStatus
{
    public const string Running = "running";

    /// <summary>No new task is claimed until a person resumes or cancels the run (an alert rule or a person paused it).</summary>
    public const string Paused = "paused";
    public const string Completed = "completed";
    public const string Cancelled = "cancelled";

    public static bool IsFinished(string status) => status is Completed or Cancelled;
}

/// <summary>How a run's tasks reach Claude (<c>generation_runs.mode</c>).</summary>
public static class RunMode
{
    /// <summary>One POST /v1/messages per task, answers in seconds.</summary>
    public const string Online = "online";

    /// <summary>Message Batches: half price, answers within 24 hours.</summary>
    public const string Batch = "batch";

    public static bool IsValid(string? mode) => mode is Online or Batch;
}

/// <summary>Task states as stored (<c>generation_tasks.state</c>).</summary>
public static class TaskState
{
    public const string Available = "available";
    public const string Running = "running";

    /// <summary>No new task is claimed until a person resumes or cancels the run (an alert rule or a person paused it).</summary>
    public const string Paused = "paused";
    public const string Succeeded = "succeeded";
    public const string Failed = "failed";
    public const string Cancelled = "cancelled";
}

/// <summary>
/// What a user asks for when creating a run; <c>Mode</c> is one of <see cref="RunMode"/> (default online). Without a
/// <see cref="Matrix"/>, <see cref="Count"/> tasks cycle through every usable persona x arc x topic. With one, the
/// matrix decides the combinations; with <see cref="RunMatrixSpec.PerCombination"/> set, <see cref="Count"/> is ignored
/// and the run has combinations x N tasks.
/// </summary>
public sealed record CreateRunRequest(
    int Count,
    string TemplateName,
    string Model,
    int MaxTokens,
    decimal? Temperature,
    string Mode = RunMode.Online)
{
    /// <summary>Personas x arcs x topics to cross; null for the default set. Default: null.</summary>
    public RunMatrixSpec? Matrix { get; init; }
}

/// <summary>
/// A run with its counters. Pending and in-flight are counted from the queue when read. Times are UTC.
/// <see cref="CostUsd"/> is every call's cost (retried and failed calls included); <see cref="FailedCostUsd"/> the part
/// spent on tasks that ended as failed generations.
/// </summary>
public sealed record RunSnapshot(
    Guid Id,
    Guid CreatedBy,
    DateTime CreatedAt,
    DateTime? StartedAt,
    DateTime? FinishedAt,
    string Model,
    int MaxTokens,
    decimal? Temperature,
    string TemplateName,
    string Status,
    int Total,
    int Succeeded,
    int Failed,
    int Cancelled,
    int InFlight,
    int Pending,
    decimal CostUsd = 0,
    decimal FailedCostUsd = 0,
    string Mode = RunMode.Online)
{
    public int Done => Succeeded + Failed + Cancelled;
    public bool IsFinished => RunStatus.IsFinished(Status);
}

/// <summary>
/// A task a worker holds under lease, with everything needed to generate it. <see cref="Attempts"/> is the delivery's
/// fencing token: every write on its behalf is conditioned on it.
/// </summary>
public sealed record ClaimedTask(
    Guid Id,
    Guid RunId,
    int Seq,
    Guid CreatedBy,
    string Prompt,
    string Model,
    int MaxTokens,
    decimal? Temperature,
    Guid TemplateId,
    Guid? PersonaId,
    Guid? EmotionalArcId,
    Guid? TrainingTopicId,
    int Attempts,
    int DeliveryErrors = 0,
    string? TemplatePrefix = null)
{
    /// <summary>How many leading characters of the prompt are the template's shared prefix (0 when none).</summary>
    public int CachePrefixLength =>
        TemplatePrefix is { Length: > 0 } prefix && Prompt.StartsWith(prefix, StringComparison.Ordinal) ? prefix.Length : 0;
}
