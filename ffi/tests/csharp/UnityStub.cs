// A stand-in for the few UnityEngine members the README's quickstart uses, so Mono can
// compile and run it as it is: MonoBehaviour, Debug and Application.persistentDataPath.
namespace UnityEngine
{
    public class MonoBehaviour
    {
    }

    public static class Debug
    {
        public static void Log(object message) { System.Console.WriteLine(message); }

        public static void LogError(object message) { System.Console.Error.WriteLine("error: " + message); }
    }

    public static class Application
    {
        public static string persistentDataPath { get; set; }
    }
}
