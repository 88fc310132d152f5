using AngleSharp.Dom;
using Bunit;
using Bunit.Rendering;
using Microsoft.AspNetCore.Components;

namespace BRun.Diagnostics.Web.Tests;

/// <summary>
/// Clicks on pages that render in parts (rows, counts and totals from separate reads; lists loaded after the first
/// render): an element found just before one of those renders lands carries a click handler that is gone by the time
/// the click is dispatched (bUnit's UnknownEventHandlerIdException, and no click happened). Found again, it is
/// clicked on the current render.
/// </summary>
internal static class StableClick
{
    private const int Attempts = 5;

    // A bound on waiting for a part that loads separately, not a timing assertion (as the tests' RenderWait).
    private static readonly TimeSpan Appear = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Waits for the element to be rendered, then clicks it. A filter chip comes with the chip counts, a read separate
    /// from the rows: a test that waited for rows and clicked a chip failed with "no elements" on a busy machine.
    /// </summary>
    public static Task ClickAsync<TComponent>(IRenderedComponent<TComponent> cut, string selector)
        where TComponent : IComponent
    {
        ArgumentNullException.ThrowIfNull(cut);
        cut.WaitForElement(selector, Appear);
        return ClickAsync(() => cut.Find(selector));
    }

    /// <summary>Clicks the element <paramref name="find"/> returns, finding it again after a render that replaced it.</summary>
    public static async Task ClickAsync(Func<IElement> find)
    {
        ArgumentNullException.ThrowIfNull(find);
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await find().ClickAsync(new());
                return;
            }
            catch (UnknownEventHandlerIdException) when (attempt < Attempts)
            {
                // A render landed between the find and the click: find the element again.
            }
        }
    }
}
