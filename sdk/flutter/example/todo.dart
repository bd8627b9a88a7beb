// An offline-first to-do list on the command line: dart run example/todo.dart
//
//   TIDELINE_URL=http://localhost:8080 dart run example/todo.dart add "Buy milk"
//   dart run example/todo.dart done <id>
//   dart run example/todo.dart list
//
// Writes go to the local cache at once, and to the server when it can be reached.

import 'dart:io';

import 'package:tideline/tideline.dart';

final class Todo {
  const Todo(this.title, {this.done = false});

  final String title;
  final bool done;

  static Todo fromJson(Map<String, Object?> json) => Todo(json['title']! as String, done: json['done'] == true);

  Map<String, Object?> toJson() => {'title': title, 'done': done};
}

Future<void> main(List<String> args) async {
  final db = await Tideline.open(
    path: 'todos.db',
    serverUrl: Platform.environment['TIDELINE_URL'] ?? 'http://localhost:8080',
  );
  try {
    if (!(await db.currentStatus()).signedIn) {
      // The session is kept in the cache: the next run is signed in already.
      await db.signInAnonymously();
    }
    final todos = db.collection('todos').withConverter(const Converter(fromJson: Todo.fromJson, toJson: _toJson));
    db.receipts.listen((r) {
      if (r.status != 'applied') stderr.writeln('${r.docId}: ${r.status} ${r.code} ${r.message}');
    });
    switch (args) {
      case ['add', final title]:
        final id = DateTime.now().microsecondsSinceEpoch.toRadixString(36);
        await todos.put(id, Todo(title));
        stdout.writeln(id);
      case ['done', final id]:
        await todos.untyped.patch(id, const [Change.set('done', true)]);
      case ['list'] || []:
        for (final item in await todos.find(const Query(orderBy: 'title'))) {
          stdout.writeln('${item.value.done ? '[x]' : '[ ]'} ${item.id} ${item.value.title}'
              '${item.pending > 0 ? ' (not synced yet)' : ''}');
        }
      default:
        stderr.writeln('usage: todo.dart add <title> | done <id> | list');
        exitCode = 2;
        return;
    }
    try {
      await db.sync();
    } on NetworkException {
      stderr.writeln('offline: the changes are kept and go out at the next run');
    }
  } finally {
    await db.close();
  }
}

Map<String, Object?> _toJson(Todo t) => t.toJson();
