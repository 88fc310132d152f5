using Dapper;
using Npgsql;

namespace BRun.Diagnostics.Testing;

/// <summary>
/// Fails tasks of a run as the worker would record them: the task is marked failed and a failed_generations row is
/// linked to it (same prompt, model, usage). Re-run and compare tests start from these rows.
/// </summary>
public static class FailedTaskSeed
{
    /// <summary>Returns the new failed-generation ids, in task order. Each row is created one second after the previous (by seq).</summary>
    public static async Task<Guid[]> FailTasksAsync(
        NpgsqlDataSource dataSource, Guid owner, Guid runId, int[] seqs, string failureType = "truncation", int? inputTokens = 1000, int outputTokens = 900)
    {
        ArgumentNullException.ThrowIfNull(dataSource);
        await using var c = await dataSource.OpenConnectionAsync();
        await c.ExecuteAsync("""
            UPDATE generation_tasks SET state = 'failed', finished_at = now() WHERE run_id = @runId AND seq = ANY(@seqs);
            UPDATE generation_runs SET failed = failed + @n WHERE id = @runId;
            """, new { runId, seqs, n = seqs.Length });
        var ids = await c.QueryAsync<Guid>("""
            INSERT INTO failed_generations (id, run_id, task_id, prompt, prompt_length, model, max_tokens, raw_response, raw_body,
                http_status, streamed, failure_type, truncation_pattern, stop_reason, detection_confidence, created_by, input_tokens, output_tokens, created_at)
            SELECT gen_random_uuid(), t.run_id, t.id, t.prompt, length(t.prompt), r.model, r.max_tokens, '{}'::jsonb, '{}', 200, false,
                   @failureType, CASE WHEN @failureType = 'truncation' THEN 'mid_word' END, CASE WHEN @failureType = 'truncation' THEN 'end_turn' END,
                   'high', @owner, @inputTokens, @outputTokens, now() + t.seq * interval '1 second'
            FROM generation_tasks t JOIN generation_runs r ON r.id = t.run_id WHERE t.run_id = @runId AND t.seq = ANY(@seqs)
            ORDER BY t.seq
            RETURNING id
            """, new { owner, runId, seqs, failureType, inputTokens, outputTokens });
        return [.. ids];
    }
}
