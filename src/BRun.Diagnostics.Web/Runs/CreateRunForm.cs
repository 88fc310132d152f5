using System.ComponentModel.DataAnnotations;
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

    public CreateRunRequest ToRequest() => new(Count, TemplateName, Model.Trim(), MaxTokens, Temperature, Mode);
}
