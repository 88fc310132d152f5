using BRun.Diagnostics.Infrastructure.Claude;

namespace BRun.Diagnostics.Infrastructure.Pipeline;

/// <summary>
/// How a generation task becomes a Claude request. The worker and the preview both call this, so the preview shows
/// (and counts the tokens of) exactly what a run will send.
/// </summary>
public static class GenerationRequests
{
    public static ClaudeRequest For(string prompt, string model, int maxTokens, decimal? temperature) =>
        new(prompt)
        {
            Model = model,
            MaxTokens = maxTokens,
            Temperature = temperature,
        };
}
