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

    /// <summary>
    /// How many leading characters of <see cref="ClaudeRequest.Prompt"/> are shared by every task of the template (the text
    /// before its first placeholder). When positive, that prefix is sent as its own content block marked with
    /// <c>cache_control</c>, so repeated calls read it from the prompt cache. 0 (default): no caching.
    /// </summary>
    public int CachePrefixLength { get; init; }
}
