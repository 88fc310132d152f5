using System.Text;
using Microsoft.Extensions.Options;

namespace BRun.Diagnostics.Infrastructure.Claude;

/// <summary>
/// The POST /v1/messages body a request becomes, written by the same code <see cref="ClaudeMessagesClient"/> sends
/// (with the configured defaults filled in), for showing a request before it is made.
/// </summary>
public sealed class ClaudeRequestWriter(IOptions<ClaudeOptions> options)
{
    public string MessagesBody(ClaudeRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        var snapshot = MessagesRequestBody.Resolve(request, options.Value);
        return Encoding.UTF8.GetString(MessagesRequestBody.Write(snapshot, request.SystemPrompt));
    }
}
