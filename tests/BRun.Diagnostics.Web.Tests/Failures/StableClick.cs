using Bunit;
using Bunit.Rendering;
using Microsoft.AspNetCore.Components;

namespace BRun.Diagnostics.Web.Tests.Failures;

/// <summary>
/// Clicks on the failures page, whose rows, chip counts and grid total render apart: an element found just before one
/// of those renders lands carries a click handler that is gone by the time the click is dispatched (bUnit's
/// UnknownEventHandlerIdException, and no click happened). Found again, it is clicked on the current render.
/// </summary>
internal static class StableClick
{
    public static async Task ClickAsync<TComponent>(IRenderedComponent<TComponent> cut, string selector)
        where TComponent : IComponent
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await cut.Find(selector).ClickAsync(new());
                return;
            }
            catch (UnknownEventHandlerIdException) when (attempt < 5)
            {
                // A render landed between the find and the click: find the element again.
            }
        }
    }
}
