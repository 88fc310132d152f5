using Microsoft.AspNetCore.Components;
using Microsoft.JSInterop;

namespace BRun.Diagnostics.Web.Styling;

/// <summary>
/// Asks the browser for MudBlazor's whole stylesheet once the circuit's first render is on screen (FirstPaintStylesheet):
/// added any earlier, its parse and the restyle it causes fell inside the circuit's start, where the cut sheet was meant
/// to save them. A static page (sign-in) has no circuit; brun-start.js adds the sheet there once Blazor has started.
/// </summary>
public sealed partial class WholeStylesheetLoader(IJSRuntime js, ILogger<WholeStylesheetLoader> logger) : ComponentBase
{
    protected override async Task OnAfterRenderAsync(bool firstRender)
    {
        if (!firstRender || !RendererInfo.IsInteractive)
        {
            return;
        }

        try
        {
            await js.InvokeVoidAsync("brunStyles.addWhole");
        }
        catch (JSDisconnectedException)
        {
            // The tab closed before its first render arrived: there is no page left to style.
        }
        catch (JSException e)
        {
            LogAddFailed(logger, e.Message);
        }
    }

    [LoggerMessage(EventId = 7812, Level = LogLevel.Warning, Message = "The browser could not add MudBlazor's whole stylesheet: {Reason}")]
    private static partial void LogAddFailed(ILogger logger, string reason);
}
