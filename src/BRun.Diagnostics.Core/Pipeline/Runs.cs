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

/// <summary>What a user asks for when creating a run.</summary>
public sealed record CreateRunRequest(
    int Count,
    string TemplateName,
    string Model,
    int MaxTokens,
    decimal? Temperature);

/// <summary>A run with its counters. Pending and in-flight are counted from the queue when read. Times are UTC.</summary>
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
    int Pending)
{
    public int Done => Succeeded + Failed + Cancelled;
    public bool IsFinished => RunStatus.IsFinished(Status);
}

/// <summary>A task a worker holds under lease, with everything needed to generate it.</summary>
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
    int Attempts);
