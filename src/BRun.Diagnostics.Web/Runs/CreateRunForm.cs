using System.ComponentModel.DataAnnotations;
using BRun.Diagnostics.Core.Design;
using BRun.Diagnostics.Core.Pipeline;

namespace BRun.Diagnostics.Web.Runs;

/// <summary>The create-run dialog's fields, with their limits.</summary>
public sealed class CreateRunForm
{
    public const string DefaultModel = "claude-sonnet-4-5";

    [Required]
    public string TemplateName { get; set; } = "default";

    [Range(1, 100_000)]
    public int Count { get; set; } = 10;

    [Required]
    [StringLength(100)]
    public string Model { get; set; } = DefaultModel;

    [Range(1, 128_000)]
    public int MaxTokens { get; set; } = 4096;

    [Range(0.0, 1.0)]
    public decimal? Temperature { get; set; } = 0.7m;

    /// <summary><see cref="RunMode.Online"/> or <see cref="RunMode.Batch"/> (Message Batches: half price, within 24 h).</summary>
    [Required]
    public string Mode { get; set; } = RunMode.Online;

    /// <summary>Matrix axes: chosen keys; empty means every usable item of that kind.</summary>
    public IReadOnlyCollection<string> Personas { get; set; } = [];

    public IReadOnlyCollection<string> EmotionalArcs { get; set; } = [];

    public IReadOnlyCollection<string> TrainingTopics { get; set; } = [];

    /// <summary>When set, N conversations for every combination (Count is then derived).</summary>
    [Range(1, 10_000)]
    public int? PerCombination { get; set; }

    public bool UsesMatrix => PerCombination is not null || Personas.Count > 0 || EmotionalArcs.Count > 0 || TrainingTopics.Count > 0;

    /// <summary>The run's task count: combinations x N with a per-combination matrix, else Count.</summary>
    /// <param name="available">How many usable personas, arcs and topics there are (an empty axis means all of them).</param>
    public int TaskCount((int Personas, int Arcs, int Topics) available) => PerCombination is { } n
        ? Axis(Personas, available.Personas) * Axis(EmotionalArcs, available.Arcs) * Axis(TrainingTopics, available.Topics) * n
        : Count;

    public CreateRunRequest ToRequest() => new(Count, TemplateName, Model.Trim(), MaxTokens, Temperature, Mode)
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
}
