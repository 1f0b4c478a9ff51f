"""The HTTP shell: parse -> check access -> call one service -> render."""
