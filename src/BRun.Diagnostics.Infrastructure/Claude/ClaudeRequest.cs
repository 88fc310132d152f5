namespace BRun.Diagnostics.Infrastructure.Claude;

/// <summary>
/// One generation: the user message and optional overrides of <see cref="ClaudeOptions"/>. Null overrides use the
/// configured value.
/// </summary>
public sealed record ClaudeRequest(string Prompt)
{
    public string? SystemPrompt { get; init; }
    public string? Model { get; init; }
    public int? MaxTokens { get; init; }
    public decimal? Temperature { get; init; }
    public bool? Stream { get; init; }
    public bool? StructuredOutputs { get; init; }
}
