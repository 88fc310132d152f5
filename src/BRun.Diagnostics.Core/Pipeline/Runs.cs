using System.Globalization;
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

    /// <summary>Every stored status, for filters that must refuse anything else.</summary>
    public static IReadOnlyList<string> All { get; } = [Running, Paused, Completed, Cancelled];

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
    public const string Succeeded = "succeeded";
    public const string Failed = "failed";
    public const string Cancelled = "cancelled";
}

/// <summary>
/// The limits of a new run, shared by the CLI, the dashboard's New run dialog and the store, so the same input is
/// accepted or refused everywhere with the same words.
/// </summary>
public static class RunLimits
{
    public const int MinCount = 1;
    public const int MaxCount = 100_000;
    public const int MinMaxTokens = 1;
    public const int MaxMaxTokens = 128_000;
    public const double MinTemperature = 0.0;
    public const double MaxTemperature = 1.0;
    public const int MaxModelLength = 100;

    public static string CountRule => string.Create(CultureInfo.InvariantCulture, $"a whole number from {MinCount} to {MaxCount:N0}");
    public static string MaxTokensRule => string.Create(CultureInfo.InvariantCulture, $"a whole number from {MinMaxTokens} to {MaxMaxTokens:N0}");
    public static string TemperatureRule => "a number from 0 to 1, such as 0.7";

    /// <summary>What is wrong with <paramref name="request"/>, one message per field (empty when it is valid).</summary>
    public static IReadOnlyList<(string Field, string Message)> Problems(CreateRunRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        var problems = new List<(string, string)>();
        if (request.Matrix?.PerCombination is { } perCombination)
        {
            // With N per combination the count is not used: the matrix decides how many tasks there are.
            if (perCombination is < MinCount or > MaxCount)
            {
                problems.Add(("per_combination", string.Create(CultureInfo.InvariantCulture, $"per combination must be {CountRule}; got {perCombination}.")));
            }
        }
        else if (request.Count is < MinCount or > MaxCount)
        {
            problems.Add(("count", string.Create(CultureInfo.InvariantCulture, $"count must be {CountRule}; got {request.Count}.")));
        }

        if (request.MaxTokens is < MinMaxTokens or > MaxMaxTokens)
        {
            problems.Add(("max_tokens", string.Create(CultureInfo.InvariantCulture, $"max tokens must be {MaxTokensRule}; got {request.MaxTokens}.")));
        }

        if (request.Temperature is { } t && ((double)t < MinTemperature || (double)t > MaxTemperature))
        {
            problems.Add(("temperature", string.Create(CultureInfo.InvariantCulture, $"temperature must be {TemperatureRule}; got {t}.")));
        }

        if (!RunMode.IsValid(request.Mode))
        {
            problems.Add(("mode", $"mode must be {RunMode.Online} or {RunMode.Batch}; got '{request.Mode}'."));
        }

        // A control character (a NUL above all, which Postgres cannot store) is in no model id or template name.
        if (string.IsNullOrWhiteSpace(request.Model) || request.Model.Length > MaxModelLength || request.Model.Any(char.IsControl))
        {
            problems.Add(("model", string.Create(CultureInfo.InvariantCulture, $"model must be a model id of 1 to {MaxModelLength} characters, such as claude-sonnet-4-5.")));
        }

        if (request.TemplateName.Any(char.IsControl))
        {
            problems.Add(("template", "template must be a template name such as default, without control characters."));
        }

        return problems;
    }
}

/// <summary>
/// What a user asks for when creating a run (see <see cref="RunLimits"/>); <c>Mode</c> is one of <see cref="RunMode"/>
/// (default online). Without a <see cref="Matrix"/>, <see cref="Count"/> tasks cycle through
/// every usable persona x arc x topic. With one, the matrix decides the combinations; with
/// <see cref="RunMatrixSpec.PerCombination"/> set, <see cref="Count"/> is ignored and the run has combinations x N tasks.
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
