// split from app.js
