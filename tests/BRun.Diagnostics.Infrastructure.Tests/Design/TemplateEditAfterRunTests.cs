using System.Text.Json;
using BRun.Diagnostics.Core.Pipeline;
using BRun.Diagnostics.Infrastructure.Claude;
using BRun.Diagnostics.Infrastructure.Database;
using BRun.Diagnostics.Infrastructure.Design;
using BRun.Diagnostics.Infrastructure.Pipeline;
using BRun.Diagnostics.Infrastructure.Tests.Pipeline;
using BRun.Diagnostics.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace BRun.Diagnostics.Infrastructure.Tests.Design;

/// <summary>What Claude (the simulator) actually receives, checked over HTTP.</summary>
[Collection(IntegrationEnvironment.Collection)]
public sealed class TemplateEditAfterRunTests(IntegrationEnvironment environment)
{
    private static readonly CancellationToken None = CancellationToken.None;

    [Fact]
    public async Task A_template_edited_after_a_run_is_created_does_not_change_what_the_run_sends()
    {
        await using var harness = await PipelineHarness.StartAsync(environment, o =>
        {
            o.RecordRequestBodies = true;
            o.CompleteRate = 1;
            o.MaxTokensRate = o.EndTurnCutRate = o.StreamCutRate = o.RefusalRate = o.RateLimitedRate = o.OverloadedRate = 0;
        });
        var identity = DbIdentity.User(harness.Owner.Id);
        var design = harness.Default.GetRequiredService<DesignStore>();
        await design.CreateTemplateAsync(identity, "edited", "ORIGINAL wording for {{persona}}, variation {{variation}}.", shared: false, None);
        var runId = await harness.Default.GetRequiredService<RunStore>().CreateAsync(
            harness.Owner.Id, new CreateRunRequest(4, "edited", "claude-sonnet-4-5", 1024, 0.5m), None);

        await design.UpdateTemplateAsync(identity, "edited", "EDITED wording for {{persona}}, variation {{variation}}.", None);
        await harness.StartWorkerAsync();
        await harness.WaitForRunAsync(runId);

        var prompts = harness.Simulator.ReceivedRequests
            .Where(r => r.Path == "/v1/messages")
            .Select(r => JsonDocument.Parse(r.Body).RootElement.GetProperty("messages")[0].GetProperty("content").GetString()!)
            .ToList();
        Assert.Equal(4, prompts.Count);
        Assert.All(prompts, p => Assert.StartsWith("ORIGINAL wording for ", p, StringComparison.Ordinal));
    }

    [Fact]
    public async Task The_preview_sends_count_tokens_the_same_body_the_run_sends_without_generation_fields()
    {
        await using var harness = await PipelineHarness.StartAsync(environment, o => o.RecordRequestBodies = true);
        var preview = await ServicesWithPreview(harness).GetRequiredService<PromptPreviewService>().PreviewAsync(
            DbIdentity.User(harness.Owner.Id),
            new PromptPreviewRequest("default", "gig_worker", "fear_to_confidence", "debt_payoff", "claude-sonnet-4-5", 2048, 0.7m, Conversations: 10),
            None);

        var count = Assert.Single(harness.Simulator.ReceivedRequests, r => r.Path == "/v1/messages/count_tokens");
        using var sent = JsonDocument.Parse(count.Body);
        using var generation = JsonDocument.Parse(preview.RequestBody);
        Assert.Equal(
            generation.RootElement.GetProperty("messages").GetRawText(),
            sent.RootElement.GetProperty("messages").GetRawText());
        Assert.False(sent.RootElement.TryGetProperty("max_tokens", out _));
        Assert.NotNull(preview.Tokens.InputTokens);
    }

    [Fact]
    public async Task The_counted_tokens_match_what_the_run_reports_in_usage()
    {
        await using var harness = await PipelineHarness.StartAsync(environment, o =>
        {
            o.CompleteRate = 1;
            o.MaxTokensRate = o.EndTurnCutRate = o.StreamCutRate = o.RefusalRate = o.RateLimitedRate = o.OverloadedRate = 0;
        });
        var preview = await ServicesWithPreview(harness).GetRequiredService<PromptPreviewService>().PreviewAsync(
            DbIdentity.User(harness.Owner.Id),
            new PromptPreviewRequest("default", null, null, null, "claude-sonnet-4-5", 2048, 0.7m),
            None);

        var captured = await harness.Default.GetRequiredService<IClaudeMessagesClient>().SendAsync(
            GenerationRequests.For(preview.Prompt, "claude-sonnet-4-5", 2048, 0.7m), None);

        Assert.Equal(captured.Parsed.Usage.InputTokens, preview.Tokens.InputTokens);
    }

    [Fact]
    public async Task The_estimate_is_the_price_tables_upper_bound_times_the_conversations()
    {
        await using var harness = await PipelineHarness.StartAsync(environment);
        var preview = await ServicesWithPreview(harness).GetRequiredService<PromptPreviewService>().PreviewAsync(
            DbIdentity.User(harness.Owner.Id),
            new PromptPreviewRequest("default", null, null, null, "claude-sonnet-4-5", 4096, null, Conversations: 100),
            None);

        var perConversation = Core.Pricing.PriceTable.CreateDefault().UpperBound("claude-sonnet-4-5", preview.Tokens.InputTokens!.Value, 4096);
        Assert.Equal(perConversation * 100, preview.EstimatedRunCost);
    }

    private static IServiceProvider ServicesWithPreview(PipelineHarness harness) =>
        harness.Database.BuildServices(
            s => s["Worker:Enabled"] = "false",
            services => services
                .AddClaudeMessagesClient(o => o.BaseUrl = harness.Simulator.BaseUrl.ToString())
                .AddPromptPreview());
}
