using System.Globalization;
using BRun.Diagnostics.Core.Pipeline;
using BRun.Diagnostics.Infrastructure.Failures;

namespace BRun.Diagnostics.Infrastructure.Reruns;

/// <summary>
/// What to generate again, and what to change. The rows are either <see cref="FailureIds"/> (a selection in the grid)
/// or, when that is null, every failed generation matching <see cref="Filter"/> (the list's filters). A null parameter
/// keeps the main source run's value (the run most of the rows came from); a null <see cref="TemplateName"/> keeps each
/// task's prompt exactly as it was sent.
/// </summary>
public sealed record RerunRequest
{
    /// <summary>The failure list's filter. Default: none (every failure the user can see).</summary>
    public FailedGenerationFilter Filter { get; init; } = FailedGenerationFilter.None;

    /// <summary>Selected failed-generation ids; null to take every row matching <see cref="Filter"/>. Default: null.</summary>
    public IReadOnlyList<Guid>? FailureIds { get; init; }

    /// <summary>New model id. Default: null (unchanged).</summary>
    public string? Model { get; init; }

    /// <summary>New max_tokens. Default: null (unchanged).</summary>
    public int? MaxTokens { get; init; }

    /// <summary>New temperature. Default: null (unchanged).</summary>
    public decimal? Temperature { get; init; }

    /// <summary>A template to render the prompts with again (from each task's frozen persona, arc and topic). Default: null.</summary>
    public string? TemplateName { get; init; }

    /// <summary>That template's version; null for its current one. Only with <see cref="TemplateName"/>. Default: null.</summary>
    public int? TemplateVersion { get; init; }

    /// <summary>New mode, <c>online</c> or <c>batch</c> (Message Batches, half price). Default: null (unchanged).</summary>
    public string? Mode { get; init; }

    /// <summary>What is wrong with the request, one message per field (empty when it is valid); fields use the API's names.</summary>
    public IReadOnlyList<(string Field, string Message)> Problems()
    {
        var problems = new List<(string, string)>();
        if (MaxTokens is { } maxTokens && maxTokens is < RunLimits.MinMaxTokens or > RunLimits.MaxMaxTokens)
        {
            problems.Add(("max_tokens", string.Create(CultureInfo.InvariantCulture, $"max_tokens must be {RunLimits.MaxTokensRule}; got {maxTokens}.")));
        }

        if (Temperature is { } t && ((double)t < RunLimits.MinTemperature || (double)t > RunLimits.MaxTemperature))
        {
            problems.Add(("temperature", string.Create(CultureInfo.InvariantCulture, $"temperature must be {RunLimits.TemperatureRule}; got {t}.")));
        }

        if (Model is not null && (string.IsNullOrWhiteSpace(Model) || Model.Length > RunLimits.MaxModelLength))
        {
            problems.Add(("model", string.Create(CultureInfo.InvariantCulture, $"model must be a model id of 1 to {RunLimits.MaxModelLength} characters, such as claude-sonnet-4-5.")));
        }

        if (Mode is not null && !RunMode.IsValid(Mode))
        {
            problems.Add(("mode", $"mode must be {RunMode.Online} or {RunMode.Batch}."));
        }

        if (TemplateName is not null && (string.IsNullOrWhiteSpace(TemplateName) || TemplateName.Length > 200))
        {
            problems.Add(("template", "template must be the name of a prompt template, such as default."));
        }

        if (TemplateVersion is { } version && (version < 1 || TemplateName is null))
        {
            problems.Add(("template_version", TemplateName is null
                ? "template_version needs template (the template whose version it is)."
                : string.Create(CultureInfo.InvariantCulture, $"template_version must be a version number of 1 or more; got {version}.")));
        }

        if (FailureIds is { } ids && (ids.Count == 0 || ids.Count > RunLimits.MaxCount))
        {
            problems.Add(("ids", string.Create(CultureInfo.InvariantCulture, $"ids must list 1 to {RunLimits.MaxCount:N0} failed generation ids; got {ids.Count:N0}.")));
        }

        return problems;
    }
}

/// <summary>
/// What a re-run would create (or created): how many tasks, with which parameters, and what it may cost.
/// <see cref="Skipped"/> rows match but cannot be generated again (imported rows have no generation task; with a new
/// template, tasks without a persona, arc and topic cannot be rendered). <see cref="EstimatedCostUsd"/> is an upper
/// bound from the price table: each source row's input tokens (prompt length / 4 where no usage came back, counted in
/// <see cref="InputTokensGuessed"/>) plus max_tokens of output, at half price in batch <see cref="Mode"/>; null when
/// the model has no price.
/// </summary>
public sealed record RerunPlan(
    int Count,
    int Skipped,
    Guid? SourceRunId,
    int SourceRunCount,
    string Model,
    int MaxTokens,
    decimal? Temperature,
    string? TemplateName,
    int? TemplateVersion,
    string Mode,
    long InputTokens,
    int InputTokensGuessed,
    decimal? EstimatedCostUsd)
{
    /// <summary>An empty plan: nothing matched that the user may re-run.</summary>
    public bool IsEmpty => Count == 0;
}

/// <summary>A created re-run: the new run's id and the plan it followed.</summary>
public sealed record RerunResult(Guid RunId, RerunPlan Plan);

/// <summary>Why a re-run cannot be made, naming the field (API parameter) at fault: template, template_version, ids or filter.</summary>
public sealed class RerunRefusedException(string field, string message) : InvalidOperationException(message)
{
    public string Field { get; } = field;
}

/// <summary>Why a re-run found nothing to generate: no row that the user can see matches (another member's rows are invisible).</summary>
public sealed class RerunNothingToDoException(string message) : InvalidOperationException(message);
