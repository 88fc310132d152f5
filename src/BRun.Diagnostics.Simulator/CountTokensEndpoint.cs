using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Options;

namespace BRun.Diagnostics.Simulator;

/// <summary>
/// POST /v1/messages/count_tokens in the real wire format: the request is a Messages request without the
/// generation-only fields (model, messages, optional system, output_config, tools...), the answer
/// <c>{"input_tokens": N}</c>. N is the same estimate the simulator reports in <c>usage.input_tokens</c> for the
/// same prompt, so a preview's count matches what the run will report. Fields the real endpoint refuses
/// (max_tokens, stream, temperature) are refused here too, so a client that sends them fails in tests.
/// </summary>
internal sealed class CountTokensEndpoint(IOptions<SimulatorOptions> options, SimulatorState state)
{
    private static readonly string[] RefusedFields = ["max_tokens", "stream", "temperature", "top_p", "top_k", "stop_sequences"];

    public async Task HandleAsync(HttpContext context)
    {
        var token = context.RequestAborted;
        var requestId = "req_011" + MessagesEndpoint.RandomId(new Random(Random.Shared.Next()), 21);
        context.Response.Headers["request-id"] = requestId;
        if (options.Value.RequireApiKey && string.IsNullOrEmpty(context.Request.Headers["x-api-key"]))
        {
            await MessagesEndpoint.WriteErrorAsync(context, 401, "authentication_error", "x-api-key header is required", requestId, token).ConfigureAwait(false);
            return;
        }

        var (document, problem) = await MessagesEndpoint.ReadJsonAsync(context.Request, options.Value.RecordRequestBodies ? state : null, token).ConfigureAwait(false);
        if (document is null)
        {
            await MessagesEndpoint.WriteErrorAsync(context, 400, "invalid_request_error", problem!, requestId, token).ConfigureAwait(false);
            return;
        }

        using (document)
        {
            var root = document.RootElement;
            problem = root.ValueKind != JsonValueKind.Object ? "The request body must be a JSON object."
                : !root.TryGetProperty("model", out var model) || model.ValueKind != JsonValueKind.String ? "model: Field required"
                : !root.TryGetProperty("messages", out var messages) || messages.ValueKind != JsonValueKind.Array ? "messages: Field required"
                : RefusedFields.FirstOrDefault(f => root.TryGetProperty(f, out _)) is { } extra ? $"{extra}: Extra inputs are not permitted"
                : null;
            if (problem is not null)
            {
                await MessagesEndpoint.WriteErrorAsync(context, 400, "invalid_request_error", problem, requestId, token).ConfigureAwait(false);
                return;
            }

            var prompt = new StringBuilder();
            foreach (var message in root.GetProperty("messages").EnumerateArray())
            {
                if (message.TryGetProperty("content", out var content))
                {
                    MessagesEndpoint.AppendText(prompt, content);
                }
            }

            var system = new StringBuilder();
            if (root.TryGetProperty("system", out var systemElement))
            {
                MessagesEndpoint.AppendText(system, systemElement);
            }

            var count = ReplyPlanner.InputTokens(system.Length == 0 ? null : system.ToString(), prompt.ToString());
            context.Response.StatusCode = 200;
            context.Response.ContentType = "application/json";
            context.Response.Headers["x-brun-simulated"] = "true";
            await context.Response.WriteAsync($"{{\"input_tokens\":{count}}}", token).ConfigureAwait(false);
        }
    }
}
