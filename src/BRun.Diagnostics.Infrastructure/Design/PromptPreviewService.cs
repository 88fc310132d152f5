using BRun.Diagnostics.Core.Pipeline;
using BRun.Diagnostics.Core.Pricing;
using BRun.Diagnostics.Infrastructure.Claude;
using BRun.Diagnostics.Infrastructure.Database;
using BRun.Diagnostics.Infrastructure.Pipeline;

namespace BRun.Diagnostics.Infrastructure.Design;

/// <summary>What to preview: a template and one persona, arc and topic (null: the first usable one), with the run's settings.</summary>
public sealed record PromptPreviewRequest(
    string TemplateName,
    string? Persona,
    string? EmotionalArc,
    string? TrainingTopic,
    string Model,
    int MaxTokens,
    decimal? Temperature,
    int Conversations = 1,
    bool Batch = false);

/// <summary>
/// The first task's prompt exactly as a run would send it, the request body, its input-token count from
/// count_tokens, and the run's cost estimate: the most it can cost (input at the counted size plus max_tokens of output
/// per conversation, from <see cref="PriceTable.UpperBound"/>). Null cost: the model is not in the price table or
/// the count failed.
/// </summary>
public sealed record PromptPreview(
    TemplateVersionUse Template,
    Scaffolding Scaffolding,
    string Prompt,
    string RequestBody,
    TokenCount Tokens,
    decimal? CostPerConversation,
    decimal? EstimatedRunCost,
    int Conversations);

/// <summary>
/// Renders a preview with the code paths a run uses: template and scaffolding resolved as run creation resolves them,
/// <see cref="PromptTemplate"/> for the prompt, <see cref="GenerationRequests"/> and the client's body writer for the
/// request, and count_tokens for its size.
/// </summary>
public sealed class PromptPreviewService(
    IUserScopedConnectionFactory connections,
    IClaudeTokenCounter tokenCounter,
    ClaudeRequestWriter requestWriter,
    PriceTable prices)
{
    /// <exception cref="ArgumentException">Unknown or archived template or item.</exception>
    public async Task<PromptPreview> PreviewAsync(DbIdentity identity, PromptPreviewRequest request, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(request.MaxTokens);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(request.Conversations);

        TemplateVersionUse template;
        Scaffolding scaffolding;
        await using (var connection = await connections.OpenAsync(identity, ct).ConfigureAwait(false))
        {
            template = await RunDesignSnapshot.LoadTemplateAsync(connection, null, request.TemplateName, ct).ConfigureAwait(false);
            scaffolding = await RunDesignSnapshot.LoadOneAsync(connection, request.Persona, request.EmotionalArc, request.TrainingTopic, ct).ConfigureAwait(false);
        }

        // Variation 1: the first task of a run.
        var prompt = PromptTemplate.Render(template.Body, PromptTemplate.Values(scaffolding, 1));
        var claudeRequest = GenerationRequests.For(prompt, request.Model, request.MaxTokens, request.Temperature);
        var body = requestWriter.MessagesBody(claudeRequest);
        var tokens = await tokenCounter.CountAsync(claudeRequest, ct).ConfigureAwait(false);
        var perConversation = tokens.InputTokens is { } input ? prices.UpperBound(request.Model, input, request.MaxTokens, request.Batch) : null;
        return new PromptPreview(
            template, scaffolding, prompt, body, tokens, perConversation, perConversation * request.Conversations, request.Conversations);
    }
}
