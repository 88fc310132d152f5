using System.Globalization;
using BRun.Diagnostics.Core.Design;
using BRun.Diagnostics.Core.Pipeline;

namespace BRun.Diagnostics.Web.Runs;

/// <summary>
/// The create-run dialog's fields. Nothing is clamped: a value outside <see cref="RunLimits"/> (the CLI's and the
/// API's limits too) stays as typed and <see cref="ProblemFor"/> names what is wrong, so the dialog can show it next to
/// the field and keep Create disabled until <see cref="IsValid"/>.
/// </summary>
public sealed class CreateRunForm
{
    public const string DefaultModel = "claude-sonnet-4-5";

    /// <summary>Field keys of <see cref="ProblemFor"/>: the same names as <see cref="RunLimits.Problems"/> and the API.</summary>
    public const string CountField = "count";
    public const string PerCombinationField = "per_combination";
    public const string MaxTokensField = "max_tokens";
    public const string TemperatureField = "temperature";
    public const string ModelField = "model";
    public const string TemplateField = "template";

    public string TemplateName { get; set => field = value ?? string.Empty; } = "default";

    /// <summary>Conversations to generate; null while the field is empty. Default: 10.</summary>
    public int? Count { get; set; } = 10;

    /// <summary>The model id; a cleared field is empty, never null.</summary>
    public string Model { get; set => field = value ?? string.Empty; } = DefaultModel;

    /// <summary>max_tokens per request; null while the field is empty. Default: 4096.</summary>
    public int? MaxTokens { get; set; } = 4096;

    /// <summary>Sampling temperature; empty means the API's default. Default: 0.7.</summary>
    public decimal? Temperature { get; set; } = 0.7m;

    /// <summary><see cref="RunMode.Online"/> or <see cref="RunMode.Batch"/> (Message Batches: half price, within 24 h).</summary>
    public string Mode { get; set; } = RunMode.Online;

    /// <summary>Matrix axes: chosen keys; empty means every usable item of that kind.</summary>
    public IReadOnlyCollection<string> Personas { get; set; } = [];

    public IReadOnlyCollection<string> EmotionalArcs { get; set; } = [];

    public IReadOnlyCollection<string> TrainingTopics { get; set; } = [];

    /// <summary>When set, N conversations for every combination (Count is then derived).</summary>
    public int? PerCombination { get; set; }

    public bool UsesMatrix => PerCombination is not null || Personas.Count > 0 || EmotionalArcs.Count > 0 || TrainingTopics.Count > 0;

    /// <summary>Every problem of the form by field key, one message each (empty when the form can be submitted).</summary>
    public IReadOnlyDictionary<string, string> Problems()
    {
        var problems = new Dictionary<string, string>(StringComparer.Ordinal);
        if (string.IsNullOrWhiteSpace(TemplateName))
        {
            problems[TemplateField] = "Choose a template.";
        }

        if (PerCombination is null && Count is null)
        {
            problems[CountField] = $"Enter how many conversations: {RunLimits.CountRule}.";
        }

        if (MaxTokens is null)
        {
            problems[MaxTokensField] = $"Enter max tokens: {RunLimits.MaxTokensRule}.";
        }

        foreach (var (field, message) in RunLimits.Problems(ToRequest()))
        {
            problems.TryAdd(field, Sentence(message));
        }

        return problems;
    }

    /// <summary>What is wrong with one field (a <c>*Field</c> key), or null.</summary>
    public string? ProblemFor(string field) => Problems().GetValueOrDefault(field);

    public bool IsValid => Problems().Count == 0;

    /// <summary>The run's task count: combinations x N with a per-combination matrix, else Count.</summary>
    /// <param name="available">How many usable personas, arcs and topics there are (an empty axis means all of them).</param>
    public int TaskCount((int Personas, int Arcs, int Topics) available) => PerCombination is { } n
        ? Axis(Personas, available.Personas) * Axis(EmotionalArcs, available.Arcs) * Axis(TrainingTopics, available.Topics) * n
        : Count ?? 0;

    /// <summary>The request as typed (an empty number is 0, which <see cref="RunLimits"/> refuses).</summary>
    public CreateRunRequest ToRequest() => new(Count ?? 0, TemplateName, Model.Trim(), MaxTokens ?? 0, Temperature, Mode)
    {
        Matrix = UsesMatrix
            ? new RunMatrixSpec
            {
                Personas = [.. Personas.Select(k => new MatrixItem(k))],
                EmotionalArcs = [.. EmotionalArcs.Select(k => new MatrixItem(k))],
                TrainingTopics = [.. TrainingTopics.Select(k => new MatrixItem(k))],
                PerCombination = PerCombination,
            }
            : null,
    };

    private static int Axis(IReadOnlyCollection<string> chosen, int available) => chosen.Count > 0 ? chosen.Count : available;

    // "count must be ..." reads as a sentence next to its field: "Count must be ...".
    private static string Sentence(string message) =>
        message.Length == 0 ? message : char.ToUpper(message[0], CultureInfo.InvariantCulture) + message[1..];
}
