// How a Flutter app wires Tideline's realtime loop to its lifecycle and to silent pushes.
// This file is an excerpt to copy into an app (it imports Flutter and firebase_messaging,
// which this pure-Dart package does not depend on); see README.md.

import 'package:firebase_messaging/firebase_messaging.dart';
import 'package:flutter/widgets.dart';
import 'package:path_provider/path_provider.dart';
import 'package:tideline/tideline.dart';

late final Tideline db;

/// Runs in a background isolate when a data message arrives with the app not in the
/// foreground: it opens the same cache (another connection to the file is safe) and
/// syncs before the isolate ends.
@pragma('vm:entry-point')
Future<void> onBackgroundMessage(RemoteMessage message) async {
  final dir = await getApplicationSupportDirectory();
  final background = await Tideline.open(path: '${dir.path}/tideline.db', serverUrl: serverUrl);
  try {
    await background.handlePush(message.data);
  } finally {
    await background.close();
  }
}

const serverUrl = 'https://api.example.com';

Future<void> main() async {
  WidgetsFlutterBinding.ensureInitialized();
  final dir = await getApplicationSupportDirectory();
  db = await Tideline.open(path: '${dir.path}/tideline.db', serverUrl: serverUrl);
  FirebaseMessaging.onBackgroundMessage(onBackgroundMessage);
  FirebaseMessaging.onMessage.listen((m) => db.handlePush(m.data));
  db.start();
  runApp(const App());
}

class App extends StatefulWidget {
  const App({super.key});

  @override
  State<App> createState() => _AppState();
}

class _AppState extends State<App> with WidgetsBindingObserver {
  @override
  void initState() {
    super.initState();
    WidgetsBinding.instance.addObserver(this);
  }

  @override
  void dispose() {
    WidgetsBinding.instance.removeObserver(this);
    super.dispose();
  }

  @override
  void didChangeAppLifecycleState(AppLifecycleState state) {
    switch (state) {
      case AppLifecycleState.resumed:
        db.resume(); // sync now, reopen the stream
      case AppLifecycleState.paused || AppLifecycleState.detached || AppLifecycleState.hidden:
        db.pause(); // close the stream; silent pushes still sync
      case AppLifecycleState.inactive:
        break;
    }
  }

  @override
  Widget build(BuildContext context) => StreamBuilder<QueryResult>(
        stream: db.collection('todos').watch(const Query(orderBy: 'title')),
        builder: (context, snap) => Text('${snap.data?.docs.length ?? 0} to do', textDirection: TextDirection.ltr),
      );
}
