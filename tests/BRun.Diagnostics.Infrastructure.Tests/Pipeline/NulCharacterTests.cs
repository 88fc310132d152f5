using System.Text;
using BRun.Diagnostics.Core.Pipeline;
using BRun.Diagnostics.Infrastructure.Database;
using BRun.Diagnostics.Infrastructure.Failures;
using BRun.Diagnostics.Infrastructure.Pipeline;
using BRun.Diagnostics.Infrastructure.Tests.Claude;
using BRun.Diagnostics.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace BRun.Diagnostics.Infrastructure.Tests.Pipeline;

/// <summary>
/// A NUL character (U+0000) cannot be stored in a Postgres text column. It reaches us two ways: raw bytes in a body (a
/// proxy's garbage) and a "\u0000" escape inside a valid message's text (decoded, it is a NUL in the content).
/// </summary>
[Collection(IntegrationEnvironment.Collection)]
public sealed class NulCharacterTests(IntegrationEnvironment environment)
{
    private static readonly TimeSpan Lease = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task Raw_NUL_bytes_in_a_body_are_stored_as_a_classified_failure_and_the_call_says_so()
    {
        await using var answered = await AnswerOneTaskAsync("{\"type\":\"message\",\"content\":[{\"type\":\"text\",\"text\":\"Hello\0\0 world\"}]}");
        var harness = answered.Harness;

        Assert.Equal(TaskState.Failed, await harness.ScalarAsync<string>("SELECT state FROM generation_tasks"));
        // Judged on the exact body, where raw NULs inside a string are not JSON. (With U+FFFD in their place the body
        // parses, and it was judged a validation_error.)
        Assert.StartsWith("parse_error/The response body is not JSON", await OutcomeAsync(harness), StringComparison.Ordinal);
        var stored = await harness.ScalarAsync<string>("SELECT raw_body FROM failed_generations");
        Assert.Contains("Hello\uFFFD\uFFFD world", stored, StringComparison.Ordinal);
        Assert.Contains("2 NUL characters", await harness.ScalarAsync<string>("SELECT transport_error FROM generation_calls"), StringComparison.Ordinal);

        // The RAW report is built from the exact body: JSON escapes the NULs.
        var id = await harness.ScalarAsync<Guid>("SELECT id FROM failed_generations");
        var report = await harness.Default.GetRequiredService<FailedGenerationReader>()
            .DownloadReportAsync(DbIdentity.User(harness.Owner.Id), id, CancellationToken.None);
        Assert.True(report!.FromStorage);
        Assert.Contains("Hello\\u0000\\u0000 world", Encoding.UTF8.GetString(report.Content), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_redelivery_judges_the_stored_capture_with_its_NULs_and_does_not_call_Claude_again()
    {
        await using var answered = await AnswerOneTaskAsync("{\"type\":\"message\",\"content\":[{\"type\":\"text\",\"text\":\"Hello\0\0 world\uFFFD\"}]}");
        var harness = answered.Harness;
        Assert.StartsWith("parse_error/", await OutcomeAsync(harness), StringComparison.Ordinal);

        // As if the failure's write had been lost after the call was recorded (a store outage, a crash, a lost lease):
        // the task is delivered again, and its recorded call answers it.
        await harness.ExecuteAsync("""
            DELETE FROM failed_generations;
            UPDATE generation_tasks SET state = 'available', lease_owner = NULL, lease_expires_at = NULL, finished_at = NULL;
            UPDATE generation_runs SET status = 'running';
            """);
        var queue = harness.Default.GetRequiredService<GenerationQueue>();
        var handler = harness.Default.GetRequiredService<IGenerationTaskHandler>();
        await handler.HandleAsync(Assert.Single(await queue.ClaimAsync("w2", 1, Lease, CancellationToken.None)), CancellationToken.None);

        // Judged on the body as it came (raw NULs: not JSON), not on the stored copy with U+FFFD in their place, which
        // parses. The body's own U+FFFD stays one.
        Assert.Equal(
            (1, "parse_error", "{57,58}"),
            (answered.Claude.Requests.Count, (await OutcomeAsync(harness)).Split('/')[0],
                await harness.ScalarAsync<string>("SELECT raw_body_nuls::text FROM generation_calls")));
        Assert.Equal("Hello\0\0 world\uFFFD", PostgresText.WithNuls("Hello\uFFFD\uFFFD world\uFFFD", [5, 6]));
    }

    [Fact]
    public async Task An_escaped_NUL_in_a_messages_text_is_stored_with_the_body_exact()
    {
        var withNul = CompleteAnswerWith("I lent my\\u0000 brother");
        await using var answered = await AnswerOneTaskAsync(withNul);
        var harness = answered.Harness;

        var run = await harness.WaitForRunAsync(answered.RunId);
        Assert.Equal((0, 1), (run.Succeeded, run.Failed));
        // The body itself holds only the escape, so the call keeps it exactly; the decoded text holds the NUL.
        Assert.Equal(withNul, await harness.ScalarAsync<string>("SELECT raw_body FROM generation_calls"));
        Assert.Equal("parse_error/", await OutcomeAsync(harness));
        Assert.Contains("I lent my\uFFFD brother", await harness.ScalarAsync<string>("SELECT response_content FROM failed_generations"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_NUL_escaped_inside_the_conversations_own_JSON_reaches_production_as_an_escape()
    {
        // The message's text is the conversation's JSON, and in it a "\u0000" escape: the conversation is complete and
        // valid, and one of its turns holds a NUL.
        await using var answered = await AnswerOneTaskAsync(CompleteAnswerWith("I lent my\\\\u0000 brother"));
        var harness = answered.Harness;

        var run = await harness.WaitForRunAsync(answered.RunId);
        Assert.Equal((1, 0), (run.Succeeded, run.Failed));
        Assert.Contains("I lent my\\u0000 brother", await harness.ScalarAsync<string>("SELECT turns::text FROM conversations"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_NUL_in_the_conversations_metadata_is_stored_as_U_FFFD_and_the_conversation_reaches_production()
    {
        var complete = Fixtures.Text("complete-000.json");
        var withNul = complete.Replace("anxious_pre_retiree", "anxious\\\\u0000pre_retiree", StringComparison.Ordinal);
        Assert.NotEqual(complete, withNul);
        await using var answered = await AnswerOneTaskAsync(withNul);
        var harness = answered.Harness;

        var run = await harness.WaitForRunAsync(answered.RunId);
        Assert.Equal((1, 0), (run.Succeeded, run.Failed));
        Assert.Equal("anxious\uFFFDpre_retiree", await harness.ScalarAsync<string>("SELECT metadata ->> 'persona' FROM conversations"));
    }

    /// <summary>The complete fixture answer with its first user turn's "I lent my brother" replaced.</summary>
    private static string CompleteAnswerWith(string replacement)
    {
        var complete = Fixtures.Text("complete-000.json");
        var changed = complete.Replace("I lent my brother", replacement, StringComparison.Ordinal);
        Assert.NotEqual(complete, changed);
        return changed;
    }

    private static Task<string> OutcomeAsync(PipelineHarness harness) =>
        harness.ScalarAsync<string>("SELECT failure_type || '/' || coalesce(error_message, '') FROM failed_generations");

    /// <summary>A run of one task, handled once against a Claude that answers with <paramref name="body"/> (HTTP 200, JSON).</summary>
    private async Task<Answered> AnswerOneTaskAsync(string body)
    {
        var claude = await ScriptedClaudeServer.StartAsync(new ScriptedReply(200, Encoding.UTF8.GetBytes(body), "application/json"));
        var harness = await PipelineHarness.StartAsync(environment);
        harness.ClaudeBaseUrl = claude.BaseUrl;
        var answered = new Answered(claude, harness, RunId: default);
        try
        {
            answered = answered with { RunId = await harness.CreateRunAsync(1) };
            var queue = harness.Default.GetRequiredService<GenerationQueue>();
            var handler = harness.Default.GetRequiredService<IGenerationTaskHandler>();
            await handler.HandleAsync(Assert.Single(await queue.ClaimAsync("w", 1, Lease, CancellationToken.None)), CancellationToken.None);
            return answered;
        }
        catch
        {
            await answered.DisposeAsync();
            throw;
        }
    }

    private sealed record Answered(ScriptedClaudeServer Claude, PipelineHarness Harness, Guid RunId) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync()
        {
            await Harness.DisposeAsync();
            await Claude.DisposeAsync();
        }
    }
}
