// Plays Unity's part for the README's quickstart component: sets its fields as the Inspector
// would, calls Start, then Update once a frame until the run is reported, then OnDestroy.
// env: TWITCH_*, TD_TEST_DATA_DIR. Prints the component's log and then: frames=N
using System;
using System.Reflection;
using System.Threading;
using UnityEngine;

static class ReadmeMain
{
    static void Call(object component, string method)
    {
        typeof(DropsFulfiller).GetMethod(method, BindingFlags.Instance | BindingFlags.NonPublic).Invoke(component, null);
    }

    static int Main()
    {
        Application.persistentDataPath = T.Env("TD_TEST_DATA_DIR");
        var component = new DropsFulfiller
        {
            clientId = T.Env("TWITCH_CLIENT_ID"),
            clientSecret = T.Env("TWITCH_CLIENT_SECRET"),
            gameId = T.Env("TWITCH_GAME_ID"),
            helixUrl = T.Env("TWITCH_HELIX_URL"),
            authUrl = T.Env("TWITCH_AUTH_URL"),
        };
        var run = typeof(DropsFulfiller).GetField("run", BindingFlags.Instance | BindingFlags.NonPublic);
        Call(component, "Start");
        var frames = 0;
        for (; run.GetValue(component) != null; frames++)
        {
            T.Check(frames < 60000, "the run ends");
            Thread.Sleep(1);
            Call(component, "Update");
        }
        Call(component, "OnDestroy");
        Console.WriteLine("frames=" + frames);
        return 0;
    }
}
