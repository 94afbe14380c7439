// Plays Unity's part for the LinkTwitch sample, and the player's: sets its fields as the
// Inspector would, calls Start, then Update once a frame (at 60 fps); once the component
// shows a code, the player approves it on "another device" (the fake's admin route). Ends
// when the component says how the drops went, then OnDestroy.
// env: TWITCH_*, TD_TEST_BASE_URL, TD_TEST_DATA_DIR, TD_TEST_PLAYER_ID
// prints the component's log, "gave <id> <user>" per grant, then: frames=N
using System;
using System.Reflection;
using System.Threading;

static class LinkTwitchMain
{
    static void Call(object component, string method)
    {
        typeof(LinkTwitch).GetMethod(method, BindingFlags.Instance | BindingFlags.NonPublic).Invoke(component, null);
    }

    static int Main()
    {
        UnityEngine.Application.persistentDataPath = T.Env("TD_TEST_DATA_DIR");
        var player = T.Env("TD_TEST_PLAYER_ID");
        var component = new LinkTwitch
        {
            clientId = T.Env("TWITCH_CLIENT_ID"),
            gameId = T.Env("TWITCH_GAME_ID"),
            helixUrl = T.Env("TWITCH_HELIX_URL"),
            authUrl = T.Env("TWITCH_AUTH_URL"),
        };
        component.OnDropGranted += request =>
        {
            T.Check(request.UserId == player, "only the player's own drops: " + request.UserId);
            Console.WriteLine("gave " + request.Id + " " + request.UserId);
        };
        Call(component, "Start");
        var approved = false;
        var frames = 0;
        while (component.Status == null || !component.Status.StartsWith("drops:"))
        {
            T.Check(frames < 60 * 60, "linked and claimed within a minute of frames");
            T.Check(component.Status == null || !component.Status.StartsWith("Twitch:"), component.Status);
            Thread.Sleep(16);
            Call(component, "Update");
            frames++;
            if (!approved && component.UserCode != null)
            {
                int status;
                T.Admin("device/" + component.UserCode + "/approve?user_id=" + player, out status);
                T.Check(status == 204, "the player approved: " + status);
                approved = true;
            }
        }
        Call(component, "OnDestroy");
        Console.WriteLine("frames=" + frames);
        return 0;
    }
}
